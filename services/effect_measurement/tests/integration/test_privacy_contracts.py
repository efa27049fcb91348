"""Issue 10 through the real app on real NATS and the embedded database: an erasure leaves
nothing of the person in the service's database (privacy_scan), also after late events;
consent through the platform's one projection (revoke and grant again: visible at once); a
self-assessment shared with any consenting organisation; a professional's read logged on
behalf of their organisation; writes about a person need the person and their consent; the
export part."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import (
    ORG,
    SERVICE,
    Harness,
    consent,
    event,
    measured,
    new_person,
    pro,
    publish_applied,
    read_subject,
    register,
    response,
    share,
    wait_for,
)
from wijkkracht_common import export, privacy_scan
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import (
    PersonErasureRequested,
    PersonExportRequested,
    PersonProfileUpdated,
)
from wijkkracht_common.events.learning_paths import ModuleCompleted
from wijkkracht_common.events.marketplace import HelpCompleted

pytestmark = pytest.mark.integration
PREFIX = "/effects/v1"


async def residue(harness: Harness, tenant: str, person: str) -> list[Any]:
    mongo_url = harness.app.state.runtime.settings.mongo_url
    found = await privacy_scan.scan_databases(mongo_url, tenant, person)
    return [r for r in found if r.database.startswith(f"wk_{SERVICE}_")]


async def test_an_erasure_leaves_nothing_of_the_person_not_even_after_late_events(
    harness: Harness, two_tenants: Any
) -> None:
    tenant = two_tenants.a
    person, other = new_person(), new_person()
    for who in (person, other):
        await register(harness, tenant, who)
    now = datetime.now(UTC)
    baseline = response(tenant, person, levels={"finances": 2}, at=now - timedelta(days=40))
    follow_up = response(tenant, person, levels={"finances": 4}, at=now - timedelta(days=1))
    others = response(tenant, other, levels={"finances": 3}, at=now - timedelta(days=2))
    await measured(harness, tenant, baseline, follow_up, others)
    for who in (person, other):
        await share(harness, tenant, who)
    # As a resident: a goal; as staff of welzijn-a: reads the other resident and sets a goal.
    mine = harness.headers(tenant, person, {ORG: ["resident"]})
    trajectories = (await harness.client.get(f"{PREFIX}/me/trajectories", headers=mine)).json()
    tid = trajectories["items"][0]["trajectory_id"]
    goal = {"dimension": "finances", "target": 5}
    got = await harness.client.post(
        f"{PREFIX}/me/trajectories/{tid}/goals", json=goal, headers=mine
    )
    assert got.status_code == 201
    read = await harness.client.get(
        f"{PREFIX}/people/{person}/trajectories", headers=pro(harness, tenant)
    )
    assert read.status_code == 200
    as_staff = pro(harness, tenant, sub=person)
    theirs = await harness.client.get(f"{PREFIX}/people/{other}/trajectories", headers=as_staff)
    other_tid = theirs.json()["items"][0]["trajectory_id"]
    got = await harness.client.post(
        f"{PREFIX}/people/{other}/trajectories/{other_tid}/goals", json=goal, headers=as_staff
    )
    assert got.status_code == 201
    recorded = await harness.client.post(
        f"{PREFIX}/interventions",
        json={"person_id": person, "type": "debt_help", "occurred_at": now.isoformat()},
        headers=pro(harness, tenant),
    )
    assert recorded.status_code == 201, recorded.text
    assert await residue(harness, tenant, person)  # the scan finds what is there

    await harness.publish(event(PersonErasureRequested(person_id=person), tenant, person))
    answers = await wait_for(lambda: _answers(harness, tenant, person))
    assert answers[0]["data"]["erased"]["measurements"] == 2
    assert answers[0]["data"]["erased"]["interventions"] == 1  # gone from every view too
    assert answers[0]["data"]["anonymised"]["goals_set_as_staff"] == 1
    await wait_for(lambda: _clean(harness, tenant, person))
    assert await residue(harness, tenant, person) == []
    db = await harness.db(tenant)
    assert await db.access_log.count_documents({}) >= 3  # kept for its retention, unlinked

    # Late events about the person: all dropped, nothing written back.
    late = [
        consent(tenant, person, version=2).data,
        PersonProfileUpdated(person_id=person, neighbourhood_code="DM02"),
        ModuleCompleted(
            enrolment_id="en-late",
            person_id=person,
            module_id="mod",
            version=1,
            theme="stress",
            started_at=now,
            completed_at=now,
        ),
        HelpCompleted(
            match_id="m-late",
            post_id="p",
            category="wandelen",
            neighbourhood_code="DM01",
            helped_person_id=person,
            completed_at=now,
        ),
    ]
    for data in late:
        await publish_applied(harness, tenant, data, person)
    in_flight = response(tenant, person, levels={"finances": 5})
    await measured(harness, tenant, in_flight, response(tenant, other, levels={"finances": 4}))
    await wait_for(lambda: _clean(harness, tenant, person))
    assert await residue(harness, tenant, person) == []
    assert await db.measurements.count_documents({"person_id": other}) == 2


async def _answers(harness: Harness, tenant: str, person: str) -> list[dict[str, Any]] | None:
    found = [
        e
        for e in await read_subject(
            harness.js, f"wk.{tenant}.effect_measurement.person_data_erased.v1"
        )
        if e["data"]["person_id"] == person
    ]
    return found or None


async def _clean(harness: Harness, tenant: str, person: str) -> bool:
    """Once the scan finds nothing (events naming the person leave the outbox once
    published)."""
    return not await residue(harness, tenant, person)


async def test_revoke_and_grant_again_is_visible_at_once(
    harness: Harness, two_tenants: Any
) -> None:
    """The issue: after a revoke and a new grant, effect measurement answered 404 for 30 s
    and more. Cause: its own projection compared the stored time (nx-27017 returns a
    datetime written with `$set` as a naive string) with the event's aware time, a TypeError
    retried with back-off (0.5, 2, 5, 15, 30 s...) and then dead-lettered. Now the platform's
    one projection orders by the consent's own version (stored with `replace_one`)."""
    tenant, person = two_tenants.a, new_person()
    await register(harness, tenant, person)
    await measured(harness, tenant, response(tenant, person, levels={"finances": 2}))
    url = f"{PREFIX}/people/{person}/trajectories"

    async def status() -> int:
        return (await harness.client.get(url, headers=pro(harness, tenant))).status_code

    await share(harness, tenant, person, version=1)
    assert await status() == 200
    await share(harness, tenant, person, granted=False, version=2)
    assert await status() == 404
    await share(harness, tenant, person, version=3)
    assert await status() == 200  # at once: the applied event is the answer, no retries
    # A late, older revoke (version 2 again) cannot undo the newer grant.
    await publish_applied(
        harness, tenant, consent(tenant, person, granted=False, version=2).data, person
    )
    assert await status() == 200
    dead = await read_subject(harness.js, f"dlq.{tenant}.>", "DLQ")
    assert not [d for d in dead if "consent" in d["consumer"]]


async def test_a_self_assessment_is_seen_by_any_organisation_the_resident_shares_with(
    harness: Harness, two_tenants: Any
) -> None:
    tenant, person = two_tenants.a, new_person()
    await register(harness, tenant, person)
    filled_in = response(
        tenant,
        person,
        family="health-self-assessment",
        purpose="self_assessment",
        scores={"participation": 6.0, "meaningfulness": 7.0},
        organisation=None,  # type: ignore[arg-type]
    )
    await harness.publish(filled_in)
    db = await harness.db(tenant)
    await wait_for(lambda: db.measurements.find_one({"_id": filled_in.data.response_id}))
    url = f"{PREFIX}/people/{person}/trajectories"
    buurt = pro(harness, tenant, sub="pro-b", org="buurt-b")
    assert (await harness.client.get(url, headers=buurt)).status_code == 404
    await share(harness, tenant, person, org="buurt-b")
    seen = await harness.client.get(url, headers=buurt)
    assert seen.status_code == 200
    [item] = seen.json()["items"]
    assert (item["kind"], item["organisation"]) == ("self_assessment", "-")
    other = pro(harness, tenant, sub="pro-c", org="elders-c")
    assert (await harness.client.get(url, headers=other)).status_code == 404


async def test_a_professionals_read_is_logged_on_behalf_of_their_organisation(
    harness: Harness, two_tenants: Any
) -> None:
    tenant, person = two_tenants.a, new_person()
    await register(harness, tenant, person)
    await measured(harness, tenant, response(tenant, person, levels={"finances": 2}))
    await share(harness, tenant, person)
    got = await harness.client.get(
        f"{PREFIX}/people/{person}/trajectories", headers=pro(harness, tenant)
    )
    assert got.status_code == 200
    db = await harness.db(tenant)
    [entry] = await db.access_log.find({"resident": person}).to_list(None)
    assert (entry["actor"], entry["on_behalf_of"], entry["reason"]) == (
        "pro-1",
        ORG,
        "share_results",
    )

    async def sent() -> list[dict[str, Any]] | None:
        found = [
            e
            for e in await read_subject(harness.js, f"wk.{tenant}.access.recorded.v1")
            if e["data"]["resident"] == person
        ]
        return found or None

    [recorded] = await wait_for(sent)
    assert recorded["data"]["on_behalf_of"] == ORG and recorded["data"]["service"] == SERVICE


async def test_an_intervention_needs_the_person_and_their_consent(
    harness: Harness, two_tenants: Any
) -> None:
    tenant, person = two_tenants.a, new_person()
    url, headers = f"{PREFIX}/interventions", pro(harness, tenant)

    def body(who: str, **more: Any) -> dict[str, Any]:
        return {
            "person_id": who,
            "type": "debt_help",
            "occurred_at": "2026-03-01T10:00:00+00:00",
            **more,
        }

    for zeros in ("00000000-0000-0000-0000-000000000000", "0"):
        got = await harness.client.post(url, json=body(zeros), headers=headers)
        assert got.status_code == 422, got.text
        assert got.headers["content-type"] == "application/problem+json"
    unknown = await harness.client.post(url, json=body(person), headers=headers)
    assert unknown.status_code == 404
    await register(harness, tenant, person)
    without = await harness.client.post(url, json=body(person), headers=headers)
    assert without.status_code == 404  # known, but no consent: not revealed either
    await share(harness, tenant, person)
    first = await harness.client.post(
        url, json=body(person, intervention_id="iv-1"), headers=headers
    )
    assert first.status_code == 201, first.text
    again = await harness.client.post(
        url, json=body(person, intervention_id="iv-1"), headers=headers
    )
    assert again.status_code == 200 and again.json()["created"] is False
    # the ids the consumers derive from other services' events are not for the taking
    taken = await harness.client.post(
        url, json=body(person, intervention_id="learning_paths:enrolment-1"), headers=headers
    )
    assert taken.status_code == 422, taken.text
    assert taken.headers["content-type"] == "application/problem+json"
    elsewhere = await harness.client.post(
        url, json=body(person, organisation="other-org"), headers=headers
    )
    assert elsewhere.status_code == 403
    other_tenant = pro(harness, two_tenants.b)
    assert (
        await harness.client.post(url, json=body(person), headers=other_tenant)
    ).status_code == 404


async def test_the_export_part_is_stored_and_answered_once(
    harness: Harness, two_tenants: Any
) -> None:
    tenant, person = two_tenants.a, new_person()
    await register(harness, tenant, person)
    await measured(
        harness,
        tenant,
        response(tenant, person, levels={"finances": 2}, at=datetime(2026, 1, 5, tzinfo=UTC)),
        response(tenant, person, levels={"finances": 3}, at=datetime(2026, 4, 5, tzinfo=UTC)),
    )
    export_id = f"exp-{uuid.uuid4().hex[:8]}"
    asked = new_event(
        PersonExportRequested(export_id=export_id, person_id=person), tenant=tenant, subject=person
    )
    await harness.publish(asked)
    await harness.js.publish(  # delivered twice: one answer
        asked.nats_subject, asked.model_dump_json().encode(), headers={"Nats-Msg-Id": "again"}
    )

    async def answered() -> list[dict[str, Any]] | None:
        found = [
            e
            for e in await read_subject(
                harness.js, f"wk.{tenant}.effect_measurement.person_data_exported.v1"
            )
            if e["data"]["export_id"] == export_id
        ]
        return found or None

    [answer] = await wait_for(answered)
    assert answer["data"]["counts"]["measurements"] == 2
    part = await export.read_part(harness.js, answer["data"]["object_name"])
    assert part["service"] == SERVICE and part["person_id"] == person
    assert len(part["measurements"]) == 2 and len(part["trajectories"]) == 1
    assert part["profile"]["neighbourhood"] == "DM01"
    assert len(await wait_for(answered)) == 1


async def test_consents_of_the_former_projection_are_moved_over(
    harness: Harness, two_tenants: Any
) -> None:
    from effect_measurement.service.legacy_consents import adopt

    tenant, person, erased = two_tenants.a, new_person(), new_person()
    await register(harness, tenant, person)
    await measured(harness, tenant, response(tenant, person, levels={"finances": 2}))
    await harness.publish(event(PersonErasureRequested(person_id=erased), tenant, erased))
    await wait_for(lambda: _answers(harness, tenant, erased))
    db = await harness.db(tenant)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    for who in (person, erased):  # as the former projection stored them (with `$set`)
        await db.consents.update_one(
            {"_id": f"{who}|{ORG}|share_results"},
            {
                "$set": {
                    "person_id": who,
                    "organisation": ORG,
                    "purpose": "share_results",
                    "at": at,
                    "granted": True,
                }
            },
            upsert=True,
        )

    assert await adopt(harness.app.state.runtime, tenant) == 2
    url = f"{PREFIX}/people/{person}/trajectories"
    assert (await harness.client.get(url, headers=pro(harness, tenant))).status_code == 200
    assert await db.consents.count_documents({}) == 0
    assert await db.consent_states.count_documents({"person_id": erased}) == 0
    assert await adopt(harness.app.state.runtime, tenant) == 0
