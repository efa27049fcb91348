"""The service on the real embedded NATS and database: it starts and is ready, keeps tenants
apart, and honours the erasure contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from skeleton.main import PREFIX, create_app
from skeleton.settings import Settings
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TEST_ISSUER_URL, TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(
    nats_url: str, mongo_url: str, test_issuer: TestIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        issuer=TEST_ISSUER_URL,
        outbox_poll_seconds=0.1,
    )
    app = create_app(settings, verifier=test_issuer.verifier())
    async with LifespanManager(app, startup_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


async def test_it_starts_and_is_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200

    async def ready() -> bool:  # on a busy machine a first check may exceed its bound
        return (await client.get("/readyz")).status_code == 200

    await eventually(ready)


async def test_tenant_b_cannot_read_tenant_a_bookmark(
    client: httpx.AsyncClient, test_issuer: TestIssuer, two_tenants: TwoTenants
) -> None:
    a = test_issuer.headers(sub="p1", tenant=two_tenants.a, orgs={})
    b = test_issuer.headers(sub="p1", tenant=two_tenants.b, orgs={})
    made = await client.post(f"{PREFIX}/bookmarks", json={"title": "Wandelgroep"}, headers=a)
    assert made.status_code == 201, made.text
    url = f"{PREFIX}/bookmarks/{made.json()['id']}"
    assert (await client.get(url, headers=a)).status_code == 200
    assert (await client.get(url, headers=b)).status_code == 404
    bad = await client.post(f"{PREFIX}/bookmarks", json={"title": ""}, headers=a)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )


async def test_erasure_deletes_the_person_bookmarks_once(
    client: httpx.AsyncClient, test_issuer: TestIssuer, two_tenants: TwoTenants, nats_url: str
) -> None:
    a = test_issuer.headers(sub="p-erase", tenant=two_tenants.a, orgs={})
    made = await client.post(f"{PREFIX}/bookmarks", json={"title": "Koffie"}, headers=a)
    url = f"{PREFIX}/bookmarks/{made.json()['id']}"
    request: Envelope[Any] = new_event(
        PersonErasureRequested(person_id="p-erase"),
        tenant=two_tenants.a,
        subject="p-erase",
        actor="p-erase",
    )
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            request.nats_subject,
            request.model_dump_json().encode(),
            headers={"Nats-Msg-Id": request.id},
        )
    finally:
        await nc.drain()

    async def gone() -> bool:
        return (await client.get(url, headers=a)).status_code == 404

    await eventually(gone)
