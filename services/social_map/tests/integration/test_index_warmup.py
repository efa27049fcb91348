"""Issue 11: after a restart the search index is built in the background; the service is
ready at once and answers searches the same as a replica that builds on first use."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PREFIX, Api, FakeClock, running_api
from helpers import IDENTITY_DEMO_TABLE, demo_hsds_json, eventually
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import NeighbourhoodsImported
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import MailSink, TwoTenants

pytestmark = pytest.mark.integration
SEARCHES = [
    {"q": "wandelen", "pc4": "9903", "radius_km": 3},
    {"q": "koffie", "free": "true"},
    {"category": "geldzaken", "pc4": "9901", "radius_km": 5},
]


async def _answers(api: Api, tenant: str) -> list[Any]:
    partner = api.issuer.headers(sub="client:partner", tenant=tenant)
    out = []
    for params in SEARCHES:
        r = await api.client.get(f"{PREFIX}/search", params=params, headers=partner)
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        out.append((body["total"], [h["entry"]["id"] for h in body["items"]]))
    return out


async def test_a_restarted_replica_warms_its_index_in_the_background(
    api: Api,
    two_tenants: TwoTenants,
    nats_url: str,
    mongo_url: str,
    mail_sink: MailSink,
    test_issuer: TestIssuer,
    clock: FakeClock,
) -> None:
    t = two_tenants.a
    manager = api.headers(t, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=demo_hsds_json(t, api.clock()),
        headers={**manager, "Content-Type": "application/json"},
    )
    assert r.status_code == 201
    await api.publish(
        new_event(NeighbourhoodsImported(neighbourhoods=IDENTITY_DEMO_TABLE), tenant=t, subject=t)
    )
    partner = api.issuer.headers(sub="client:partner", tenant=t)

    async def neighbourhoods_known() -> bool:
        r = await api.client.get(f"{PREFIX}/neighbourhoods", headers=partner)
        return r.status_code == 200 and len(r.json()["items"]) > 0

    await eventually(neighbourhoods_known)
    # this replica builds on first use (the tests' default)
    r = await api.client.get(f"{PREFIX}/search/index", headers=partner)
    assert r.json() == {"state": "cold"}
    expected = await _answers(api, t)
    assert all(total > 0 for total, _ in expected)
    assert (await api.client.get(f"{PREFIX}/search/index", headers=partner)).json() == {
        "state": "ready"
    }

    # a second replica starting now warms every tenant's index in the background
    async with running_api(
        nats_url, mongo_url, mail_sink, test_issuer, clock, search_warm_at_startup=True
    ) as restarted:
        ready = await restarted.client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        first = await restarted.client.get(f"{PREFIX}/search/index", headers=partner)
        assert first.json()["state"] in ("warming", "ready")

        async def warmed() -> bool:
            r = await restarted.client.get(f"{PREFIX}/search/index", headers=partner)
            return bool(r.json() == {"state": "ready"})

        await eventually(warmed)
        assert await _answers(restarted, t) == expected
        # and while the index is ready, other requests were and are served from the database
        r = await restarted.client.get(f"{PREFIX}/entries/{expected[0][1][0]}", headers=partner)
        assert r.status_code == 200


async def test_searches_right_after_a_start_agree_with_a_cold_build(
    api: Api,
    two_tenants: TwoTenants,
    nats_url: str,
    mongo_url: str,
    mail_sink: MailSink,
    test_issuer: TestIssuer,
    clock: FakeClock,
) -> None:
    """Searches sent as soon as the replica started (its tenant warming, or not reached yet)
    are answered as by a replica that built on first use: a search joins the running build
    of its tenant (one lock per tenant), never a partial index."""
    t = two_tenants.a
    manager = api.headers(t, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=demo_hsds_json(t, api.clock()),
        headers={**manager, "Content-Type": "application/json"},
    )
    assert r.status_code == 201
    expected = await _answers_text_only(api, t)
    async with running_api(
        nats_url, mongo_url, mail_sink, test_issuer, clock, search_warm_at_startup=True
    ) as restarted:
        assert await _answers_text_only(restarted, t) == expected
        indexes = restarted.app.state.ctx.search_indexes
        assert indexes.state(restarted.app.state.ctx.database_name(t)) == "ready"


async def _answers_text_only(api: Api, tenant: str) -> list[Any]:
    partner = api.issuer.headers(sub="client:partner", tenant=tenant)
    out = []
    for q in ("wandelen", "schulden", "koffie"):
        r = await api.client.get(f"{PREFIX}/search", params={"q": q}, headers=partner)
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        out.append((body["total"], [h["entry"]["id"] for h in body["items"]]))
    return out
