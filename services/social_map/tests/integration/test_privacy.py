"""The privacy contracts on the real database and NATS: an erasure leaves nothing in the
social map's database that names the person, and late events about them leave nothing
either; the export part holds what the map keeps about them; a professional's read is
logged on behalf of the organisation whose consent allows it; consents of the former
projection still count."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import PREFIX, Api, FakeClock, running_api
from helpers import IDENTITY_DEMO_TABLE, entry
from nats.js.errors import NotFoundError
from social_map.service import legacy_consents
from social_map.service.context import SERVICE
from wijkkracht_common import export, privacy_scan
from wijkkracht_common.access_log import ACCESS_LOG
from wijkkracht_common.events.envelope import EventData, new_event, new_event_id
from wijkkracht_common.events.identity import (
    ConsentGranted,
    NeighbourhoodsImported,
    PersonErasureRequested,
    PersonExportRequested,
    PersonProfileUpdated,
    PersonRegistered,
)
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import durable_name, stream_name
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import MailSink, TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

ORG = "welzijn-demo"
SCORES = {
    "bodily_functions": 7,
    "mental_wellbeing": 6.5,
    "meaningfulness": 6.5,
    "quality_of_life": 6,
    "participation": 3,
    "daily_functioning": 8,
}


@pytest.fixture
async def relayed(
    nats_url: str, mongo_url: str, mail_sink: MailSink, test_issuer: TestIssuer, clock: FakeClock
) -> AsyncIterator[Api]:
    """The service as deployed: published outbox records are deleted (the other tests keep
    them to read them back), so the database holds only what the service keeps."""
    async with running_api(
        nats_url, mongo_url, mail_sink, test_issuer, clock, outbox_retain_sent=False
    ) as running:
        yield running


def response(tenant: str, person: str, response_id: str) -> Any:
    return new_event(
        ResponseSubmitted(
            response_id=response_id,
            person_id=person,
            instrument_id="pg-short",
            family="positieve-gezondheid",
            variant="short",
            version=1,
            purpose="self_assessment",
            submitted_at=datetime.now(UTC),
            dimension_scores=SCORES,
        ),
        tenant=tenant,
        subject=response_id,
        actor=person,
    )


def consent(tenant: str, person: str, org: str = ORG, version: int = 1) -> Any:
    data = ConsentGranted(
        person_id=person, organisation_slug=org, purpose="share_results", version=version
    )
    return new_event(data, tenant=tenant, subject=person, actor=person)


async def a_resident_with_data(api: Api, t: str, person: str) -> str:
    """Profile, response, consent, two reports (one with an Idempotency-Key) and a
    professional's read of the recommendations; returns the response id."""
    await api.publish(
        new_event(NeighbourhoodsImported(neighbourhoods=IDENTITY_DEMO_TABLE), tenant=t, subject=t)
    )
    registered = PersonRegistered(
        person_id=person, pc4="9903", neighbourhood_code="DM01", age_band="65-79"
    )
    await api.publish(new_event(registered, tenant=t, subject=person))
    response_id = f"resp-{uuid.uuid4()}"
    await api.publish(response(t, person, response_id))
    await api.publish(consent(t, person))
    admin = api.headers(t, org_a=["org_admin"])
    created = await api.client.post(f"{PREFIX}/entries", json=entry(), headers=admin)
    assert created.status_code == 201, created.text
    entry_id = created.json()["entry"]["id"]
    me = api.headers(t, sub=person, welzijn_demo=["resident"])
    for note, key in (("Tijden kloppen niet", "report-1"), ("Nog steeds niet", None)):
        reported = await api.client.post(
            f"{PREFIX}/entries/{entry_id}/reports",
            json={"note": note},
            headers={**me, **({"Idempotency-Key": key} if key else {})},
        )
        assert reported.status_code == 201, reported.text
    pro = api.headers(t, sub="p-pro", welzijn_demo=["professional"])

    async def professional_reads() -> bool:
        got = await api.client.get(
            f"{PREFIX}/recommendations", params={"response_id": response_id}, headers=pro
        )
        return got.status_code == 200

    await eventually(professional_reads)
    return response_id


def dropped(api: Api, event_cls: type[EventData]) -> Any:
    """Events the consumer of `event_cls` acked without an effect (duplicates, and events
    about erased persons): counted after the transaction and the ack."""
    metrics = api.app.state.ctx.runtime.metrics
    labels = {
        "service": metrics.service_name,
        "consumer": durable_name(SERVICE, event_cls),
        "outcome": "duplicate",
    }

    def count() -> float:
        return metrics.registry.get_sample_value("wk_events_consumed_total", labels) or 0.0

    return count


async def residue(mongo_url: str, tenant: str, person: str) -> list[Any]:
    found = await privacy_scan.scan_databases(mongo_url, tenant, person)
    return [r for r in found if r.database.startswith("wk_social_map_")]


async def test_erasure_leaves_nothing_and_late_events_leave_nothing(
    relayed: Api, two_tenants: TwoTenants, mongo_url: str
) -> None:
    api, t = relayed, two_tenants.a
    person = str(uuid.uuid4())  # a random id, as identity gives: a text search has no false hits
    response_id = await a_resident_with_data(api, t, person)
    db = await api.app.state.ctx.db(t)
    assert await db[ACCESS_LOG].count_documents({"resident": person}) == 1
    assert await residue(mongo_url, t, person)  # the scan does see the person before

    await api.publish(new_event(PersonErasureRequested(person_id=person), tenant=t, subject=person))

    async def answered() -> dict[str, Any]:
        try:
            msg = await api.js.get_last_msg(
                stream_name("social_map"), f"wk.{t}.social_map.person_data_erased.v1"
            )
        except NotFoundError:  # not published yet
            return {}
        data: dict[str, Any] = json.loads(msg.data or b"{}")["data"]
        return data if data["person_id"] == person else {}

    answer = await eventually(answered)
    assert answer["erased"] == {
        "residents": 1,
        "responses": 1,
        "consents": 1,
        "request_replays": 1,
    }
    assert answer["anonymised"] == {"tasks": 2, "entries": 1, "access_log": 1}

    async def clean() -> bool:
        return not await residue(mongo_url, t, person)

    await eventually(clean)
    # the reports stay (one reporter, their notes), the access log keeps who looked and when
    tasks = await db["tasks"].find({}).to_list(None)
    assert sorted(x["note"] for x in tasks) == ["Nog steeds niet", "Tijden kloppen niet"]
    assert len({x["reporter"] for x in tasks}) == 1
    [logged] = await db[ACCESS_LOG].find({}).to_list(None)
    assert logged["actor"] == "p-pro" and logged["on_behalf_of"] == ORG
    assert logged["resource"] == "response/erased"

    # Late events about the person (identity's consent, a profile change, a response in
    # flight) are claimed and dropped: nothing is written back.
    late: list[tuple[type[EventData], Any]] = [
        (ConsentGranted, consent(t, person, version=7)),
        (
            PersonProfileUpdated,
            new_event(
                PersonProfileUpdated(person_id=person, pc4="9904", neighbourhood_code="DM02"),
                tenant=t,
                subject=person,
            ),
        ),
        (ResponseSubmitted, response(t, person, f"resp-{uuid.uuid4()}")),
    ]
    counters = [(dropped(api, cls), dropped(api, cls)()) for cls, _ in late]
    for _, event in late:
        await api.publish(event)
    for count, before in counters:

        async def acked_without_effect(count: Any = count, before: float = before) -> bool:
            return bool(count() > before)

        await eventually(acked_without_effect)
    assert await residue(mongo_url, t, person) == []
    pro = api.headers(t, sub="p-pro", welzijn_demo=["professional"])
    gone = await api.client.get(
        f"{PREFIX}/recommendations", params={"response_id": response_id}, headers=pro
    )
    assert gone.status_code == 404


async def test_the_export_part_holds_what_the_map_keeps(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    person = str(uuid.uuid4())
    response_id = await a_resident_with_data(api, t, person)
    export_id = new_event_id()
    await api.publish(
        new_event(
            PersonExportRequested(export_id=export_id, person_id=person),
            tenant=t,
            subject=person,
            actor=person,
        )
    )
    db = await api.app.state.ctx.db(t)

    async def answered() -> dict[str, Any]:
        doc = await db["outbox"].find_one(
            {"type": "nl.wijkkracht.social_map.person_data_exported.v1"}
        )
        return {} if doc is None else dict(json.loads(doc["payload"])["data"])

    answer = await eventually(answered)
    assert answer["export_id"] == export_id and answer["person_id"] == person
    assert answer["counts"] == {"profile": 1, "responses": 1, "reports": 2, "consents": 1}
    part = await export.read_part(api.js, answer["object_name"])
    assert part["service"] == "social_map" and part["person_id"] == person
    assert part["profile"]["pc4"] == "9903" and part["profile"]["neighbourhood_code"] == "DM01"
    [kept] = part["responses"]
    assert kept["response_id"] == response_id and kept["dimension_scores"] == SCORES
    assert sorted(r["note"] for r in part["reports"]) == ["Nog steeds niet", "Tijden kloppen niet"]
    assert part["consents"] == {"share_results": [ORG]}


async def test_a_professionals_read_is_logged_on_behalf_of_their_organisation(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    person = str(uuid.uuid4())
    response_id = await a_resident_with_data(api, t, person)
    # a professional of two organisations: the one the resident consented to is named
    both = api.headers(
        t, sub="p-both", buurtteam_noord=["professional"], welzijn_demo=["professional"]
    )
    got = await api.client.get(
        f"{PREFIX}/recommendations", params={"response_id": response_id}, headers=both
    )
    assert got.status_code == 200
    db = await api.app.state.ctx.db(t)
    logged = await db[ACCESS_LOG].find({"resident": person}).sort("at", 1).to_list(None)
    assert [(x["actor"], x["on_behalf_of"]) for x in logged] == [
        ("p-pro", ORG),
        ("p-both", ORG),
    ]
    assert all(x["reason"] == "share_results" and x["action"] == "read" for x in logged)
    sent = await db["outbox"].find({"type": "nl.wijkkracht.access.recorded.v1"}).to_list(None)
    events = [json.loads(doc["payload"])["data"] for doc in sent]
    assert {(e["actor"], e["on_behalf_of"]) for e in events if e["resident"] == person} == {
        ("p-pro", ORG),
        ("p-both", ORG),
    }


async def test_consents_of_the_former_projection_still_count(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    person = str(uuid.uuid4())
    await api.publish(
        new_event(NeighbourhoodsImported(neighbourhoods=IDENTITY_DEMO_TABLE), tenant=t, subject=t)
    )
    registered = PersonRegistered(person_id=person, pc4="9903", neighbourhood_code="DM01")
    await api.publish(new_event(registered, tenant=t, subject=person))
    response_id = f"resp-{uuid.uuid4()}"
    await api.publish(response(t, person, response_id))
    url = f"{PREFIX}/recommendations"
    me = api.headers(t, sub=person, welzijn_demo=["resident"])

    async def known() -> bool:
        got = await api.client.get(url, params={"response_id": response_id}, headers=me)
        return got.status_code == 200

    await eventually(known)
    db = await api.app.state.ctx.db(t)
    # as the former projection wrote it ($set: the time may come back as a string)
    await db["consents"].update_one(
        {"_id": f"{person}|{ORG}|share_results"},
        {
            "$set": {
                "person_id": person,
                "organisation": ORG,
                "purpose": "share_results",
                "active": True,
                "at": datetime.now(UTC),
            }
        },
        upsert=True,
    )
    pro = api.headers(t, sub="p-pro", welzijn_demo=["professional"])
    before = await api.client.get(url, params={"response_id": response_id}, headers=pro)
    assert before.status_code == 404

    assert await legacy_consents.adopt(api.app.state.ctx, t) == 1

    after = await api.client.get(url, params={"response_id": response_id}, headers=pro)
    assert after.status_code == 200
    assert await db["consents"].count_documents({}) == 0
    assert await legacy_consents.adopt(api.app.state.ctx, t) == 0


async def test_a_staff_members_erasure_leaves_their_work_without_them(
    relayed: Api, two_tenants: TwoTenants, mongo_url: str
) -> None:
    api, t = relayed, two_tenants.a
    person = str(uuid.uuid4())
    manager = api.headers(
        t, sub=person, org_a=["org_admin"], gemeente_demo=["neighbourhood_manager"]
    )
    created = await api.client.post(
        f"{PREFIX}/entries", json=entry(), headers={**manager, "Idempotency-Key": "entry-1"}
    )
    assert created.status_code == 201, created.text
    entry_id = created.json()["entry"]["id"]
    verified = await api.client.post(f"{PREFIX}/entries/{entry_id}/verification", headers=manager)
    assert verified.status_code == 200, verified.text
    swept = await api.client.post(f"{PREFIX}/freshness/sweeps", headers=manager)
    assert swept.status_code == 201, swept.text
    assert await residue(mongo_url, t, person)

    await api.publish(new_event(PersonErasureRequested(person_id=person), tenant=t, subject=person))

    async def clean() -> bool:
        return not await residue(mongo_url, t, person)

    await eventually(clean)
    admin = api.headers(t, sub="p-admin", gemeente_demo=["neighbourhood_manager"])
    kept = (await api.client.get(f"{PREFIX}/entries/{entry_id}", headers=admin)).json()
    assert kept["entry"]["assured_at"] == verified.json()["entry"]["assured_at"]  # stays
    assert kept["freshness"] == verified.json()["freshness"]
    assert kept["assured_by"].startswith("erased-")
    report = await api.client.get(f"{PREFIX}/freshness/sweeps/{swept.json()['id']}", headers=admin)
    assert report.status_code == 200
