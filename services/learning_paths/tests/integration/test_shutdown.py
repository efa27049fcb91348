"""Stopping without losing statements, on the real NATS and database: a request in flight
when the app shuts down is stored, one arriving meanwhile is refused with 503 and
`Retry-After` and nothing of it is stored. No duration is measured: the test holds the
statement writer's transaction at a known point and looks at what was stored."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from learning_paths.adapters.lrs import LRS_INDEXES, STATEMENTS
from learning_paths.main import PREFIX, create_app
from learning_paths.service.lrs import Lrs
from lp_harness import FakeCredentials, settings_for
from wijkkracht_common.storage import Storage
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import MailSink, TwoTenants
from wijkkracht_common.testing.stopping import assert_refused_while_stopping
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


def statements(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "actor": {"mbox": f"mailto:learner{n}@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "http://example.org/a/1"},
        }
        for n in range(count)
    ]


async def test_statements_in_flight_at_shutdown_are_stored_and_later_ones_refused(
    nats_url: str,
    mongo_url: str,
    mail_sink: MailSink,
    test_issuer: TestIssuer,
    two_tenants: TwoTenants,
) -> None:
    settings = settings_for(nats_url, mongo_url, mail_sink.port)
    t = two_tenants.a
    app = create_app(settings, verifier=test_issuer.verifier(), credentials=FakeCredentials())
    # No time limit of the test's own: the test decides when the transaction may go on.
    manager = LifespanManager(app, startup_timeout=60, shutdown_timeout=None)
    await manager.__aenter__()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    headers = {
        **test_issuer.headers(sub="client:backend", tenant=t),
        "X-Experience-API-Version": "2.0.0",
    }
    url = f"{PREFIX}/xapi/statements"
    in_flight, late = statements(20), statements(5)
    began, go_on = asyncio.Event(), asyncio.Event()
    stopping: asyncio.Task[Any] | None = None
    try:
        # Hold the writer's transaction once it begins (the database is real).
        lrs = app.state.lrs
        assert isinstance(lrs, Lrs)
        writer = lrs.writer
        commit = writer._commit

        async def held(tenant: str, work: Any) -> Any:
            began.set()
            await go_on.wait()
            return await commit(tenant, work)

        writer._commit = held
        sent = asyncio.create_task(client.post(url, json=in_flight, headers=headers))
        await began.wait()
        stopping = asyncio.create_task(manager.__aexit__(None, None, None))

        async def closed() -> bool:
            return writer.closed

        await eventually(closed)
        refused = await client.post(url, json=late, headers=headers)
        assert_refused_while_stopping(refused, settings.unavailable_retry_after_seconds)
        # The shutdown waits for the request it holds: the storage stays open for it.
        assert not stopping.done() and not sent.done()
        go_on.set()
        answered = await sent
        await stopping
        assert answered.status_code == 200, answered.text
        assert answered.json() == [s["id"] for s in in_flight]
    finally:
        go_on.set()
        await client.aclose()
        await (stopping if stopping is not None else manager.__aexit__(None, None, None))

    # After the app stopped: every statement of the request in flight is stored, none of the
    # refused one.
    storage = Storage(mongo_url, settings.service_name, LRS_INDEXES)
    try:
        db = await storage.tenant_db(t)
        ids = {d["_id"] async for d in db[STATEMENTS].find({}, {"_id": 1})}
        assert ids == {s["id"] for s in in_flight}
    finally:
        storage.close()
