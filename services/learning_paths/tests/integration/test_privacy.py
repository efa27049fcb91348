"""The privacy contracts: erasure leaves nothing of the person (and drops late events),
export gives the person their part."""

from __future__ import annotations

import pytest
from learning_paths.main import PREFIX
from lp_harness import ORG, Api, module_md, path_md
from wijkkracht_common import export, privacy_scan
from wijkkracht_common.events.envelope import new_event, new_event_id
from wijkkracht_common.events.identity import PersonErasureRequested, PersonExportRequested
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

PERSON = "0190c0de-aaaa-7bbb-8ccc-111122223333"
WORDS = "Mijn plan: elke dag een rondje lopen"


async def _learn(api: Api, tenant: str, person: str) -> str:
    """The person starts a path (after a placement), writes a plan, gets homework, is seen."""
    await api.module(tenant, slug="overzicht", source=module_md("Overzicht", steps=2))
    path = await api.module(tenant, slug="pad", source=path_md("overzicht"), kind="paths")
    rules = [
        {
            "id": "r1",
            "family": "effect-monitor",
            "theme": "household_budget",
            "phase_min": 1,
            "path_id": path["id"],
            "entry_point": "start",
        }
    ]
    await api.client.put(
        f"{PREFIX}/placement-rules", json={"rules": rules}, headers=api.admin(tenant)
    )
    response = await api.respond(tenant, person, phases={"household_budget": 1})
    await api.measure(tenant, person, response)
    me = api.resident(tenant, person)

    async def placed() -> bool:
        got = await api.client.get(f"{PREFIX}/me/placements", headers=me)
        return bool(got.json()["items"])

    await eventually(placed)
    enrolment = (
        await api.client.post(f"{PREFIX}/enrolments", json={"content_id": path["id"]}, headers=me)
    ).json()
    plan = await api.client.put(
        f"{PREFIX}/enrolments/{enrolment['id']}/steps/p4/answer",
        json={"plan": {"1": WORDS}},
        headers=me,
    )
    assert plan.status_code == 200, plan.text
    await api.client.post(f"{PREFIX}/enrolments/{enrolment['id']}/steps/p1/complete", headers=me)
    module = await api.module(tenant, slug="huiswerk", source=module_md("Huiswerk", steps=1))
    assigned = await api.client.post(
        f"{PREFIX}/organisations/{ORG}/assignments",
        json={"person_id": person, "content_id": module["id"]},
        headers=api.professional(tenant),
    )
    assert assigned.status_code == 201
    await api.consent(tenant, person)
    url = f"{PREFIX}/organisations/{ORG}/residents/{person}/progress"

    async def seen() -> bool:
        got = await api.client.get(url, headers=api.professional(tenant))
        return got.status_code == 200

    await eventually(seen)
    return str(enrolment["id"])


async def test_erasure_leaves_nothing_and_drops_late_events(
    api: Api, two_tenants: TwoTenants, mongo_url: str
) -> None:
    t = two_tenants.a
    await _learn(api, t, PERSON)
    await api.publish(
        new_event(PersonErasureRequested(person_id=PERSON), tenant=t, subject=PERSON, actor=PERSON)
    )
    answer = (await api.wait_for_event(t, "person_data_erased"))[0]["data"]
    assert answer["erased"]["enrolments"] == 2 and answer["erased"]["answers"] == 1
    assert answer["erased"]["placements"] == 1 and answer["erased"]["consent_states"] == 1
    assert answer["anonymised"]["usage_facts"] == 2 and answer["anonymised"]["access_log"] >= 2

    async def clean() -> bool:
        found = await privacy_scan.scan_databases(mongo_url, t, PERSON)
        return not [r for r in found if r.database.startswith("wk_learning_paths_")]

    await eventually(clean)

    # Late events about the person leave nothing behind (a consent, a response).
    await api.consent(t, PERSON, version=5)
    late = await api.respond(t, PERSON, phases={"household_budget": 1})
    await api.measure(t, PERSON, late)
    await api.consent(t, "someone-else")  # applied after the late ones (one consumer, in order)
    other = await api.respond(t, "someone-else", phases={"household_budget": 1})
    await api.measure(t, "someone-else", other)

    async def others_applied() -> bool:
        events = await api.published(t, "path_placed.v1")
        return any(e["data"]["person_id"] == "someone-else" for e in events)

    await eventually(others_applied)
    found = await privacy_scan.scan_databases(mongo_url, t, PERSON)
    assert [r for r in found if r.database.startswith("wk_learning_paths_")] == []


async def test_export_gives_the_person_their_part(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    await _learn(api, t, PERSON)
    export_id = new_event_id()
    await api.publish(
        new_event(
            PersonExportRequested(export_id=export_id, person_id=PERSON),
            tenant=t,
            subject=PERSON,
            actor=PERSON,
        )
    )
    answer = (await api.wait_for_event(t, "person_data_exported"))[0]["data"]
    assert answer["export_id"] == export_id
    assert answer["counts"]["enrolments"] == 2 and answer["counts"]["placements"] == 1
    part = await export.read_part(api.js, answer["object_name"])
    assert part["service"] == "learning_paths" and part["person_id"] == PERSON
    assert WORDS in str(part["answers"])
    assert part["placements"][0]["reason"]["nl"]
