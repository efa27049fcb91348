"""Cohorts, reminders and the weekly digest through the mail outbox, usage figures with
small-cell suppression that an erasure does not change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from learning_paths.main import PREFIX
from lp_harness import ORG, Api, module_md
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import PersonErasureRequested, TenantCreated
from wijkkracht_common.testing.plugin import MailSink, TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


async def test_a_cohort_shows_progress_of_consenting_members_only(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    module = await api.module(t, source=module_md(steps=3))
    pro = api.professional(t)
    made = await api.client.post(
        f"{PREFIX}/organisations/{ORG}/cohorts",
        json={
            "content_id": module["id"],
            "title": "Groep voorjaar",
            "start_on": date.today().isoformat(),
            "every_days": 7,
            "members": ["m-1", "m-2"],
        },
        headers=pro,
    )
    assert made.status_code == 201, made.text
    cohort = made.json()
    assert [s["step_id"] for s in cohort["schedule"]] == ["s1", "s2", "s3"]
    events = await api.wait_for_event(t, "assignment_created", count=2)
    assert {e["data"]["cohort_id"] for e in events} == {cohort["id"]}
    mine = await api.client.get(f"{PREFIX}/me/enrolments", headers=api.resident(t, "m-1"))
    homework = mine.json()["items"][0]
    assert homework["origin"] == "cohort" and homework["status"] == "not_started"
    await api.consent(t, "m-1")
    url = f"{PREFIX}/organisations/{ORG}/cohorts/{cohort['id']}"

    async def visible() -> dict[str, Any]:
        body: dict[str, Any] = (await api.client.get(url, headers=pro)).json()
        return body if body["members"][0]["progress_visible"] else {}

    shown = await eventually(visible)
    assert shown["members"][0]["enrolment"]["status"] == "not_started"
    assert shown["members"][1] == {"person_id": "m-2", "progress_visible": False, "enrolment": None}
    other = api.professional(t, "welzijn-b", sub="pro-b")
    assert (await api.client.get(url, headers=other)).status_code == 403
    more = await api.client.post(f"{url}/members", json={"person_ids": ["m-3"]}, headers=pro)
    assert more.json()["members"] == ["m-1", "m-2", "m-3"]


async def test_reminders_and_digest_are_one_mail_each(
    api: Api, two_tenants: TwoTenants, mail_sink: MailSink
) -> None:
    t = two_tenants.a
    address = f"r-mail-{t}@example.org"
    first = await api.module(t, slug="een", source=module_md("Eerste module", 1))
    second = await api.module(t, slug="twee", source=module_md("Tweede module", 1))
    me = api.resident(t, "r-mail")
    saved = await api.client.put(f"{PREFIX}/me/reminders", json={"email": address}, headers=me)
    assert saved.status_code == 200
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for module in (first, second):
        await api.client.post(
            f"{PREFIX}/organisations/{ORG}/assignments",
            json={"person_id": "r-mail", "content_id": module["id"], "due_at": due},
            headers=api.professional(t),
        )
    api.app.state.reminders.trigger()

    async def two_mails() -> bool:
        return len(mail_sink.to(address)) >= 2

    await eventually(two_mails)
    subjects = sorted(str(m["Subject"]) for m in mail_sink.to(address))
    assert subjects[0].startswith("Herinnering") and subjects[1].startswith("Uw week")
    reminder = next(m for m in mail_sink.to(address) if str(m["Subject"]).startswith("Herinnering"))
    text = reminder.get_content()
    assert "Eerste module" in text and "Tweede module" in text  # one mail, both modules
    passes = api.app.state.reminders.passes
    api.app.state.reminders.trigger()

    async def another_pass() -> bool:
        return bool(api.app.state.reminders.passes > passes)

    await eventually(another_pass)
    assert len(mail_sink.to(address)) == 2  # reminded once per due date, digest once a week


async def _enrol(api: Api, tenant: str, module_id: str, people: list[str], finish: int) -> None:
    for n, person in enumerate(people):
        me = api.resident(tenant, person)
        made = await api.client.post(
            f"{PREFIX}/enrolments", json={"content_id": module_id}, headers=me
        )
        if n < finish:
            await api.client.post(
                f"{PREFIX}/enrolments/{made.json()['id']}/steps/s1/complete", headers=me
            )


async def test_usage_figures_are_suppressed_and_survive_an_erasure(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await api.publish(
        new_event(TenantCreated(tenant_slug=t, k_anonymity=5), tenant=t, subject=t, actor="x")
    )
    big = await api.module(t, slug="groot", source=module_md("Groot", 1))
    small = await api.module(t, slug="klein", source=module_md("Klein", 1))
    middle = await api.module(t, slug="midden", source=module_md("Midden", 1))
    people = [f"0190c0de-0000-7000-8000-{n:012d}" for n in range(12)]
    await _enrol(api, t, big["id"], people, finish=7)
    await _enrol(api, t, small["id"], people[:2], finish=2)
    await _enrol(api, t, middle["id"], people[:8], finish=8)
    analyst = api.as_(t, "analist", **{"gemeente-a": ["analyst"]})

    async def figures() -> dict[str, Any]:
        got = await api.client.get(f"{PREFIX}/usage", params={"by": "module"}, headers=analyst)
        body: dict[str, Any] = got.json()
        return body if body["k"] == 5 else {}

    shown = await eventually(figures)
    rows = {r["title"]: r for r in shown["rows"]}
    assert rows["Groot"]["enrolments"] == 12 and rows["Groot"]["completions"] == 7
    assert rows["Klein"]["suppressed"] and rows["Klein"]["enrolments"] is None
    assert rows["Midden"]["suppressed"]  # the complement: Klein must not follow from the total
    assert shown["totals"]["enrolments"] == 22
    assert rows["Groot"]["drop_off"] == {"s1": 0}
    denied = await api.client.get(f"{PREFIX}/usage", headers=api.professional(t))
    assert denied.status_code == 403

    await api.publish(
        new_event(
            PersonErasureRequested(person_id=people[0]), tenant=t, subject=people[0], actor="x"
        )
    )
    await api.wait_for_event(t, "person_data_erased")
    after = (await api.client.get(f"{PREFIX}/usage", headers=analyst)).json()
    assert {r["title"]: r["enrolments"] for r in after["rows"]} == {
        r["title"]: r["enrolments"] for r in shown["rows"]
    }
    assert after["totals"] == shown["totals"]
