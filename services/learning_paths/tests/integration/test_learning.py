"""A resident follows a module on their own; a professional assigns homework and sees the
progress only with consent; free text stays the resident's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from learning_paths.main import PREFIX
from lp_harness import ORG, OTHER_ORG, Api
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

SECRET = "Ik slaap slecht sinds mijn man overleed"


async def _finish(api: Api, headers: dict[str, str], enrolment_id: str) -> dict[str, object]:
    url = f"{PREFIX}/enrolments/{enrolment_id}/steps"
    assert (await api.client.post(f"{url}/wat-is-stress/complete", headers=headers)).is_success
    blocked = await api.client.post(f"{url}/mijn-signalen/complete", headers=headers)
    assert blocked.status_code == 422  # an exercise needs the resident's answer first
    saved = await api.client.put(
        f"{url}/mijn-signalen/answer", json={"text": SECRET}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert (await api.client.post(f"{url}/mijn-signalen/complete", headers=headers)).is_success
    wrong = await api.client.put(
        f"{url}/check/answer", json={"choices": {"q1": [2]}}, headers=headers
    )
    assert wrong.json()["score"] == 0.0
    right = await api.client.put(
        f"{url}/check/answer", json={"choices": {"q1": [1]}}, headers=headers
    )
    assert right.json()["score"] == 1.0
    done = await api.client.post(f"{url}/check/complete", headers=headers)
    assert done.status_code == 200, done.text
    body: dict[str, object] = done.json()
    return body


async def test_a_resident_completes_a_module_on_their_own(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    module = await api.module(t)
    me = api.resident(t, "r-self")
    started = await api.client.post(
        f"{PREFIX}/enrolments", json={"content_id": module["id"]}, headers=me
    )
    assert started.status_code == 201, started.text
    enrolment = started.json()
    assert enrolment["status"] == "in_progress" and enrolment["origin"] == "self"
    done = await _finish(api, me, enrolment["id"])
    assert done["status"] == "completed"
    mine = (await api.client.get(f"{PREFIX}/me/enrolments", headers=me)).json()["items"]
    assert [e["id"] for e in mine] == [enrolment["id"]]

    completed = await api.wait_for_event(t, "module_completed")
    assert completed[0]["data"]["person_id"] == "r-self"
    assert completed[0]["data"]["theme"] == "stress"
    events = await api.published(t)
    kinds = [e["type"].split(".")[3] for e in events]
    assert kinds.count("step_completed") == 3 and kinds.count("module_started") == 1
    assert all(SECRET not in str(e) for e in events)  # free text never in events
    quiz = next(e for e in events if e["data"].get("step_id") == "check")
    assert quiz["data"]["score"] == 1.0

    # Another resident (or tenant) finds nothing.
    other = api.resident(t, "r-other")
    url = f"{PREFIX}/enrolments/{enrolment['id']}"
    assert (await api.client.get(url, headers=other)).status_code == 404
    answer = await api.client.put(
        f"{url}/steps/mijn-signalen/answer", json={"text": "x"}, headers=other
    )
    assert answer.status_code == 404
    b = api.resident(two_tenants.b, "r-self")
    assert (await api.client.get(url, headers=b)).status_code == 404
    written = await api.client.post(f"{url}/steps/check/complete", headers=b)
    assert written.status_code == 404
    printed = await api.client.get(f"{url}/steps/mijn-signalen/print", headers=me)
    assert SECRET in printed.text

    # The same progress, as learning records: one query answers "what did I do".
    records = await api.client.get(
        f"{PREFIX}/xapi/statements",
        params={"registration": enrolment["id"], "ascending": "true"},
        headers={**me, "X-Experience-API-Version": "2.0.0"},
    )
    verbs = [s["verb"]["id"].rsplit("/", 1)[1] for s in records.json()["statements"]]
    assert verbs == ["attempted", "completed", "completed", "completed", "completed"]
    assert SECRET not in records.text
    quiz_record = records.json()["statements"][3]
    assert quiz_record["result"]["score"]["scaled"] == 1.0
    assert quiz_record["object"]["id"].endswith("/steps/check")


async def test_homework_progress_needs_consent_and_is_access_logged(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    module = await api.module(t)
    pro = api.professional(t)
    due = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    assigned = await api.client.post(
        f"{PREFIX}/organisations/{ORG}/assignments",
        json={
            "person_id": "r-hw",
            "content_id": module["id"],
            "due_at": due,
            "note": "Tot dinsdag",
        },
        headers={**pro, "Idempotency-Key": "hw-1"},
    )
    assert assigned.status_code == 201, assigned.text
    enrolment = assigned.json()
    assert enrolment["status"] == "not_started" and enrolment["assignment"]["organisation"] == ORG
    replay = await api.client.post(
        f"{PREFIX}/organisations/{ORG}/assignments",
        json={
            "person_id": "r-hw",
            "content_id": module["id"],
            "due_at": due,
            "note": "Tot dinsdag",
        },
        headers={**pro, "Idempotency-Key": "hw-1"},
    )
    assert replay.json()["id"] == enrolment["id"]
    created = await api.wait_for_event(t, "assignment_created")
    assert "Tot dinsdag" not in str(created)

    progress_url = f"{PREFIX}/organisations/{ORG}/residents/r-hw/progress"
    assert (await api.client.get(progress_url, headers=pro)).status_code == 404
    listing = (
        await api.client.get(f"{PREFIX}/organisations/{ORG}/assignments", headers=pro)
    ).json()
    assert listing["items"][0]["progress_visible"] is False and "status" not in listing["items"][0]

    # The resident does the homework and shares one step.
    me = api.resident(t, "r-hw")
    await _finish(api, me, enrolment["id"])
    share = await api.client.put(
        f"{PREFIX}/enrolments/{enrolment['id']}/steps/check/sharing",
        json={"shared": True},
        headers=me,
    )
    assert share.status_code == 200

    await api.consent(t, "r-hw")

    async def visible() -> bool:
        return (await api.client.get(progress_url, headers=pro)).status_code == 200

    await eventually(visible)
    shown = (await api.client.get(progress_url, headers=pro)).json()
    row = shown["enrolments"][0]
    assert row["status"] == "completed" and row["progress"] == {"completed": 3, "required": 3}
    assert [a["step_id"] for a in row["shared_answers"]] == ["check"]
    assert SECRET not in str(shown)  # the exercise was not shared

    # A professional of another organisation, or without the role, gets 404.
    other = api.professional(t, OTHER_ORG, sub="pro-2")
    assert (
        await api.client.get(
            f"{PREFIX}/organisations/{OTHER_ORG}/residents/r-hw/progress", headers=other
        )
    ).status_code == 404
    assert (await api.client.get(progress_url, headers=other)).status_code == 404
    resident_as_staff = api.resident(t, "r-x")
    assert (await api.client.get(progress_url, headers=resident_as_staff)).status_code == 404

    # Every staff view is logged on behalf of the organisation (access.recorded events).
    logged = await api.wait_for_event_in(t, "access", "recorded")
    reads = [e["data"] for e in logged if e["data"]["action"] == "read"]
    assert reads and all(r["on_behalf_of"] == ORG and r["resident"] == "r-hw" for r in reads)
    assert reads[0]["actor"] == "pro-1"

    await api.consent(t, "r-hw", granted=False, version=2)

    async def hidden() -> bool:
        return (await api.client.get(progress_url, headers=pro)).status_code == 404

    await eventually(hidden)


async def test_assigning_needs_the_professional_role_and_a_usable_module(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    private = await api.module(t, slug="eigen", scope="organisation", org=OTHER_ORG)
    body = {"person_id": "r-1", "content_id": private["id"]}
    url = f"{PREFIX}/organisations/{ORG}/assignments"
    assert (
        await api.client.post(url, json=body, headers=api.resident(t, "r-2"))
    ).status_code == 403
    assert (await api.client.post(url, json=body, headers=api.professional(t))).status_code == 404
    b = api.professional(two_tenants.b)
    assert (await api.client.post(url, json=body, headers=b)).status_code == 404
