"""Acceptance: Piet, 66, recently widowed, low participation score, PC4 9903 → the walking
group nearby comes first — through the events of identity and questionnaires and the API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import PREFIX, Api
from helpers import IDENTITY_DEMO_TABLE, demo_hsds_json, eventually
from social_map.service.context import SERVICE
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import (
    ConsentGranted,
    NeighbourhoodsImported,
    PersonRegistered,
)
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import durable_name
from wijkkracht_common.outbox import OUTBOX
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration

PIET_SCORES = {
    "bodily_functions": 7,
    "mental_wellbeing": 6.5,
    "meaningfulness": 6.5,
    "quality_of_life": 6,
    "participation": 3,
    "daily_functioning": 8,
}


async def test_piet_gets_the_walking_group_first(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    manager = api.headers(t, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=demo_hsds_json(t, api.clock()),
        headers={**manager, "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text[:500]

    await api.publish(
        new_event(NeighbourhoodsImported(neighbourhoods=IDENTITY_DEMO_TABLE), tenant=t, subject=t)
    )
    await api.publish(
        new_event(
            PersonRegistered(
                person_id="piet", pc4="9903", neighbourhood_code="DM01", age_band="65-79"
            ),
            tenant=t,
            subject="piet",
        )
    )
    submitted = new_event(
        ResponseSubmitted(
            response_id="resp-piet",
            person_id="piet",
            instrument_id="pg-short",
            family="positieve-gezondheid",
            variant="short",
            version=1,
            purpose="self_assessment",
            submitted_at=datetime.now(UTC),
            dimension_scores=PIET_SCORES,
        ),
        tenant=t,
        subject="resp-piet",
        actor="piet",
    )
    await api.publish(submitted)

    piet = api.headers(t, sub="piet", welzijn_demo=["resident"])
    url = f"{PREFIX}/recommendations"

    async def ready() -> bool:
        r = await api.client.get(url, params={"response_id": "resp-piet"}, headers=piet)
        return r.status_code == 200

    await eventually(ready)
    body = (await api.client.get(url, params={"response_id": "resp-piet"}, headers=piet)).json()
    assert body["focus_dimensions"] == ["participation"]
    assert body["neighbourhood_code"] == "DM01"
    first = body["items"][0]
    assert first["entry"]["name"] == "Wandelgroep De Stappers"
    assert first["distance_km"] < 1 and "participation" in first["dimensions"]
    assert first["reason"]["nl"].startswith("Past bij")

    # a redelivered event (same id, new NATS message) is applied once: the inbox guards it.
    # The copy carries other scores, so a second application would show (the effect is a
    # replace_one: an identical copy applied twice would leave no trace).
    db = await api.app.state.ctx.db(t)
    outbox_before = await db[OUTBOX].count_documents({})
    metrics = api.app.state.ctx.runtime.metrics
    consumed = {
        "service": metrics.service_name,
        "consumer": durable_name(SERVICE, ResponseSubmitted),
    }

    def outcomes(outcome: str) -> float:
        labels = {**consumed, "outcome": outcome}
        return metrics.registry.get_sample_value("wk_events_consumed_total", labels) or 0.0

    duplicates_before = outcomes("duplicate")
    other_scores = {**PIET_SCORES, "participation": 9, "meaningfulness": 2}
    data = submitted.data.model_copy(update={"dimension_scores": other_scores})
    redelivered = submitted.model_copy(update={"data": data})
    await api.js.publish(
        redelivered.nats_subject,
        redelivered.model_dump_json().encode(),
        headers={"Nats-Msg-Id": f"{submitted.id}-again"},
    )

    async def redelivery_consumed() -> bool:
        # "duplicate" is counted after the handler's transaction and the ack (a later event
        # is no marker: faststream runs one pull batch's messages concurrently); changed
        # scores mean it was consumed and applied, and the assertions below fail
        if outcomes("duplicate") > duplicates_before:
            return True
        stored = await db["responses"].find_one({"_id": "resp-piet"})
        return stored is not None and stored["scores"] != PIET_SCORES

    await eventually(redelivery_consumed)
    # Fails if the duplicate was applied: its scores would replace Piet's, the focus would
    # move to meaningfulness, and the consumer would count it "applied", not "duplicate".
    assert outcomes("duplicate") == duplicates_before + 1
    stored = await db["responses"].find_one({"_id": "resp-piet"})
    assert stored is not None and stored["scores"] == PIET_SCORES
    assert await db["responses"].count_documents({"person_id": "piet"}) == 1
    assert await db["inbox"].count_documents({"_id": {"$regex": submitted.id}}) == 1
    assert await db[OUTBOX].count_documents({}) == outbox_before  # no event from it either
    again = (await api.client.get(url, params={"response_id": "resp-piet"}, headers=piet)).json()
    assert again["focus_dimensions"] == ["participation"]
    assert [i["entry"]["name"] for i in again["items"]] == [
        i["entry"]["name"] for i in body["items"]
    ]

    # a professional sees it only with Piet's share_results consent, and is access-logged
    pro = api.headers(t, sub="p-pro", welzijn_demo=["professional"])
    r = await api.client.get(url, params={"response_id": "resp-piet"}, headers=pro)
    assert r.status_code == 404
    await api.publish(
        new_event(
            ConsentGranted(
                person_id="piet", organisation_slug="welzijn-demo", purpose="share_results"
            ),
            tenant=t,
            subject="piet",
        )
    )

    async def pro_allowed() -> bool:
        r = await api.client.get(url, params={"response_id": "resp-piet"}, headers=pro)
        return r.status_code == 200

    await eventually(pro_allowed)
    logged = await db["access_log"].find({"resident": "piet"}).to_list(None)
    assert logged and logged[0]["actor"] == "p-pro" and logged[0]["reason"] == "share_results"
    # another tenant cannot read Piet's response, whatever its roles
    other = api.headers(two_tenants.b, sub="piet", welzijn_demo=["resident", "professional"])
    r = await api.client.get(url, params={"response_id": "resp-piet"}, headers=other)
    assert r.status_code == 404
