"""Stopping without losing a post, on the real NATS and database: a post in flight when the
app shuts down is stored with its event in the outbox, a post arriving meanwhile is refused
with 503 and `Retry-After` and nothing of it is stored. No duration is measured: the test
holds the group commit's transaction at a known point and looks at what was stored."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from marketplace.adapters.repositories import INDEXES, POSTS
from marketplace.main import create_app
from marketplace.settings import Settings
from mp_harness import FakeClock, Market, person
from wijkkracht_common.outbox import OUTBOX, record_events
from wijkkracht_common.storage import Storage
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TEST_ISSUER_URL, MailSink, TwoTenants
from wijkkracht_common.testing.stopping import assert_refused_while_stopping
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

BODY = {"kind": "request", "category": "administratie", "text": "Wie helpt mij?"}


async def test_a_post_in_flight_at_shutdown_is_committed_and_a_later_one_refused(
    nats_url: str,
    mongo_url: str,
    mail_sink: MailSink,
    test_issuer: TestIssuer,
    two_tenants: TwoTenants,
) -> None:
    settings = Settings(
        outbox_retain_sent=True,  # the outbox keeps the event after publishing it
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        issuer=TEST_ISSUER_URL,
        smtp_port=mail_sink.port,
    )
    t = two_tenants.a
    anna, bert = person(), person()
    app = create_app(settings, verifier=test_issuer.verifier(), clock=FakeClock())
    # No time limit of the test's own: the test decides when the transaction may go on.
    manager = LifespanManager(app, startup_timeout=60, shutdown_timeout=None)
    await manager.__aenter__()
    nc = await nats.connect(nats_url)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    began, go_on = asyncio.Event(), asyncio.Event()
    stopping: asyncio.Task[Any] | None = None
    try:
        market = Market(app, client, test_issuer, FakeClock(), nc.jetstream(), mongo_url, mail_sink)
        await market.setup(t, {anna: "DM01", bert: "DM02"})
        # Hold the group commit's transaction once it begins (the database is real).
        queue = market.ctx.publications
        commit = queue._commit

        async def held(tenant: str, work: Any) -> None:
            began.set()
            await go_on.wait()
            await commit(tenant, work)

        queue._commit = held
        in_flight = asyncio.create_task(market.post(t, anna, BODY))
        await began.wait()
        stopping = asyncio.create_task(manager.__aexit__(None, None, None))

        async def closed() -> bool:
            return queue.closed

        await eventually(closed)
        refused = await market.post(t, bert, BODY)
        assert_refused_while_stopping(refused, settings.unavailable_retry_after_seconds)
        # The shutdown waits for the post it holds: the storage stays open for it.
        assert not stopping.done() and not in_flight.done()
        go_on.set()
        answered = await in_flight
        await stopping
        assert answered.status_code == 201, answered.text
        post_id = answered.json()["id"]
    finally:
        go_on.set()
        await client.aclose()
        await nc.drain()
        await (stopping if stopping is not None else manager.__aexit__(None, None, None))

    # After the app stopped: the post is stored with its event in the outbox; nothing of the
    # refused one is.
    storage = Storage(mongo_url, settings.service_name, INDEXES)
    try:
        db = await storage.tenant_db(t)
        posts = [d async for d in db[POSTS].find({})]
        assert [(p["_id"], p["owner_id"]) for p in posts] == [(post_id, anna)]
        events = [e for doc in await db[OUTBOX].find({}).to_list(None) for e in record_events(doc)]
        published = [payload for _, subject, payload in events if ".post_published." in subject]
        assert len(published) == 1 and post_id in published[0]
    finally:
        storage.close()
