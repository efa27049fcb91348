"""Outages of the database and the broker, on servers started (and killed, and paused) for
these tests alone: the session-wide ones other tests use are never touched.

A small app built like a service's (`create_base_app` + `ServiceRuntime`) must answer 503
problem with `Retry-After` while a dependency is away (never 500), answer while the database
is still paused (the driver timeouts bound the wait), report not-ready on `/readyz` during the
outage and ready again after it. No test asserts a duration: each waits for conditions, with
ceilings far above the configured bounds (a busy machine is slow, not wrong).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from wijkkracht_common.embedded import ManagedProcess, free_port, start_mongo, start_nats
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.storage import Database, Session
from wijkkracht_common.testing.issuer import TestIssuer

pytestmark = pytest.mark.integration

#: The test app's bound on one database operation: small, so the tests run quickly.
OPERATION_MS = 1500
#: How long a test waits for an answer during an outage: 20 times the bound above (a busy
#: machine is slow, not wrong), far below the 120 s motor's `with_transaction` retries.
ANSWER_CEILING = 30.0
#: How long a test waits for a restarted or resumed server to be seen again.
RECOVERY_CEILING = 90.0


@dataclass
class Server:
    """One server process of these tests, started again on the same port and data."""

    start: Callable[[], ManagedProcess]
    managed: ManagedProcess

    @property
    def url(self) -> str:
        return self.managed.url

    def _signal(self, sig: signal.Signals) -> None:
        # started with start_new_session: the process leads its own group
        os.killpg(self.managed.process.pid, sig)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)
        self.managed.process.wait(timeout=30)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)
        # SIGSTOP is delivered asynchronously: a thread on the other core may still answer
        # one more request. Paused means every thread shows state T (stopped).
        pid = self.managed.process.pid
        deadline = time.monotonic() + RECOVERY_CEILING
        while not _all_threads_stopped(pid):
            assert time.monotonic() < deadline, "the server did not stop"
            time.sleep(0.01)

    def resume(self) -> None:
        if self.managed.process.poll() is None:
            self._signal(signal.SIGCONT)

    def restart(self) -> None:
        self.managed = self.start()

    def ensure_serving(self) -> None:
        if self.managed.process.poll() is None:
            self.resume()
        else:
            self.restart()

    def stop(self) -> None:
        self.resume()
        self.managed.stop()


def _all_threads_stopped(pid: int) -> bool:
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            # "pid (name) S ...": the state follows the closing parenthesis of the name
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
    return bool(states) and all(state in ("T", "t") for state in states)


@dataclass
class Servers:
    database: Server
    broker: Server


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    base: Path = tmp_path_factory.mktemp("outages")
    db_port, nats_port = free_port(), free_port()

    def database() -> ManagedProcess:
        return start_mongo(db_port, base / "db", base / "db.log")

    def broker() -> ManagedProcess:
        return start_nats(nats_port, base / "nats", base / "nats.log")

    started = Servers(Server(database, database()), Server(broker, broker()))
    try:
        yield started
    finally:
        started.broker.stop()
        started.database.stop()


@dataclass
class Harness:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    servers: Servers

    async def get(self, path: str) -> httpx.Response:
        return await asyncio.wait_for(self.client.get(path), ANSWER_CEILING)

    async def post(self, path: str) -> httpx.Response:
        return await asyncio.wait_for(self.client.post(path), ANSWER_CEILING)

    async def wait_ready(self, ready: bool, ceiling: float = RECOVERY_CEILING) -> dict[str, Any]:
        """Poll /readyz until it says `ready` (or give up after `ceiling` seconds)."""
        body: dict[str, Any] = {}
        async with asyncio.timeout(ceiling):
            while True:
                response = await self.get("/readyz")
                body = response.json()
                if (response.status_code == 200) == ready:
                    return body
                await asyncio.sleep(0.2)


def build_app(settings: BaseServiceSettings, issuer: TestIssuer) -> tuple[FastAPI, ServiceRuntime]:
    runtime = ServiceRuntime(settings)
    app = create_base_app(
        settings,
        title="outages",
        prefix="/t/v1",
        metrics=runtime.metrics,
        readiness={"nats": runtime.nats_ready, "database": runtime.db_ready},
        lifespan=lambda a: runtime.lifespan(a),
        verifier=issuer.verifier(settings),
    )
    router = APIRouter()

    @router.get("/things")
    async def read() -> dict[str, Any]:
        db = await runtime.storage.tenant_db("outage")
        return {"found": await db.things.count_documents({})}

    @router.post("/things")
    async def write() -> dict[str, Any]:
        async def work(db: Database[dict[str, Any]], session: Session) -> tuple[str, list[Any]]:
            thing = uuid.uuid4().hex
            await db.things.insert_one({"_id": thing}, session=session)
            return thing, []

        return {"id": await runtime.commit("outage", work)}

    @router.post("/pings")
    async def publish() -> dict[str, Any]:
        ack = await runtime.js.publish("wk.outage.identity.pinged.v1", b"{}", timeout=1.0)
        return {"seq": ack.seq}

    app.include_router(router, prefix="/t/v1")
    return app, runtime


@pytest.fixture
async def harness(servers: Servers, test_issuer: TestIssuer) -> AsyncIterator[Harness]:
    servers.database.ensure_serving()
    servers.broker.ensure_serving()
    settings = BaseServiceSettings(
        service_name=f"out{uuid.uuid4().hex[:6]}",
        nats_url=servers.broker.url,
        mongo_url=servers.database.url,
        issuer=test_issuer.issuer,
        env="test",
        db_timeout_ms=OPERATION_MS,
        db_server_selection_timeout_ms=1000,
        db_connect_timeout_ms=1000,
        readiness_timeout_seconds=1.0,
        unavailable_retry_after_seconds=7,
    )
    app, runtime = build_app(settings, test_issuer)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
    ):
        harness = Harness(client, runtime, servers)
        try:
            await harness.wait_ready(True)
            yield harness
        finally:
            # whatever the test did, the servers serve again before the app shuts down
            servers.database.ensure_serving()
            servers.broker.ensure_serving()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "7"
    body = response.json()
    assert body["type"].endswith("service-unavailable") and body["status"] == 503


async def answered_while(paused: Server, call: Awaitable[httpx.Response]) -> httpx.Response:
    """The answer to `call`, checked to arrive while `paused` is still stopped: the request is
    bounded by the driver's timeouts, not by the end of the outage."""
    response = await call
    assert paused.managed.process.poll() is None  # still there, and still stopped by us
    return response


async def test_database_killed_answers_503_and_readyz_follows(harness: Harness) -> None:
    assert (await harness.get("/t/v1/things")).status_code == 200
    harness.servers.database.kill()

    assert_unavailable(await harness.get("/t/v1/things"))
    body = await harness.wait_ready(False)
    assert body["checks"]["database"] is False and body["checks"]["nats"] is True

    harness.servers.database.restart()
    await harness.wait_ready(True)
    assert (await harness.get("/t/v1/things")).status_code == 200


async def test_database_paused_answers_503_within_the_bound(harness: Harness) -> None:
    assert (await harness.get("/t/v1/things")).status_code == 200
    database = harness.servers.database
    database.pause()
    try:
        assert_unavailable(await answered_while(database, harness.get("/t/v1/things")))
        body = await harness.wait_ready(False)
        assert body["checks"]["database"] is False
    finally:
        database.resume()
    await harness.wait_ready(True)
    assert (await harness.get("/t/v1/things")).status_code == 200


async def test_broker_killed_answers_503_and_readyz_follows(harness: Harness) -> None:
    assert (await harness.post("/t/v1/pings")).status_code == 200
    harness.servers.broker.kill()

    body = await harness.wait_ready(False)
    assert body["checks"]["nats"] is False and body["checks"]["database"] is True
    assert_unavailable(await harness.post("/t/v1/pings"))

    harness.servers.broker.restart()
    await harness.wait_ready(True)
    assert (await harness.post("/t/v1/pings")).status_code == 200


async def test_broker_paused_answers_503_within_the_bound(harness: Harness) -> None:
    assert (await harness.post("/t/v1/pings")).status_code == 200
    broker = harness.servers.broker
    broker.pause()
    try:
        assert_unavailable(await answered_while(broker, harness.post("/t/v1/pings")))
    finally:
        broker.resume()
    assert (await harness.post("/t/v1/pings")).status_code == 200


async def test_a_transaction_answers_503_within_the_bound(harness: Harness) -> None:
    """What most services' POSTs do (runtime.commit), with the database killed, then paused."""
    assert (await harness.post("/t/v1/things")).status_code == 200
    database = harness.servers.database
    database.kill()
    assert_unavailable(await harness.post("/t/v1/things"))
    database.restart()
    await harness.wait_ready(True)

    database.pause()
    try:
        assert_unavailable(await answered_while(database, harness.post("/t/v1/things")))
    finally:
        database.resume()
    await harness.wait_ready(True)
    assert (await harness.post("/t/v1/things")).status_code == 200


async def test_readyz_reports_a_paused_broker(harness: Harness) -> None:
    broker = harness.servers.broker
    broker.pause()
    try:
        body = await harness.wait_ready(False, ceiling=ANSWER_CEILING)
        assert body["checks"]["nats"] is False and body["checks"]["database"] is True
    finally:
        broker.resume()
    await harness.wait_ready(True)
