"""pytest plugin (registered as entry point `pytest11`): real NATS and the real embedded
database for integration tests, started once per session on free ports unless
`WK_NATS_URL` / `WK_MONGO_URL` point to running servers; two tenants per test; span capture.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import nats
import pytest
from nats.js.errors import NotFoundError
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo import MongoClient

from wijkkracht_common.embedded import ManagedProcess, free_port, start_mongo, start_nats
from wijkkracht_common.mailsink import start_sink
from wijkkracht_common.stream_purge import tenant_filters
from wijkkracht_common.testing.issuer import TestIssuer

TEST_ISSUER_URL = "http://identity.test/identity/v1"


def pytest_configure(config: pytest.Config) -> None:
    # A run stopped with SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C: the session's
    # fixtures are torn down, so the embedded NATS and database it started stop too.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Back-pressure (admission control) is off in tests unless a test turns it on: many tests
    # fire bursts of concurrent requests to prove concurrency rules, and on a busy machine a
    # 503 `service-busy` would fail them for the wrong reason. Its own tests set it explicitly;
    # processes the tests start inherit this.
    os.environ.setdefault("WK_MAX_CONCURRENT_REQUESTS", "0")
    # A test app's shutdown has 5 s (asgi-lifespan's bound, kept as a check that shutdowns
    # stay fast). The first app of a service in a session may be applying a batch of the
    # backlog other tests left on the shared streams; it is abandoned after 1 s and comes
    # again (redelivered, applied once), instead of the production grace of 10 s.
    os.environ.setdefault("WK_BATCH_STOP_GRACE_SECONDS", "1")
    for marker, text in {
        "unit": "no I/O",
        "integration": "real NATS and database",
        "e2e": "all services as processes",
        "contract": "event schemas",
        "security": "adversarial tests",
        "chaos": "failure injection",
    }.items():
        config.addinivalue_line("markers", f"{marker}: {text}")


@pytest.fixture(scope="session")
def wk_workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wk-test-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def nats_url(wk_workdir: Path) -> Iterator[str]:
    external = os.environ.get("WK_NATS_URL")
    if external:
        yield external
        return
    managed: ManagedProcess = start_nats(free_port(), wk_workdir / "nats", wk_workdir / "nats.log")
    try:
        yield managed.url
    finally:
        managed.stop()


@pytest.fixture(scope="session")
def mongo_url(wk_workdir: Path) -> Iterator[str]:
    external = os.environ.get("WK_MONGO_URL")
    if external:
        yield external
        return
    managed = start_mongo(free_port(), wk_workdir / "db", wk_workdir / "db.log")
    try:
        yield managed.url
    finally:
        managed.stop()


@dataclass(frozen=True)
class TwoTenants:
    a: str
    b: str


_TEST_TENANTS = pytest.StashKey[list[str]]()


@pytest.fixture
def two_tenants(request: pytest.FixtureRequest) -> TwoTenants:
    """Fresh tenant slugs per test, so tests never see each other's data. After the test
    (`_clean_test_tenants`) their events leave the shared streams and their databases are
    dropped: otherwise every later test's consumers would first work through the events of
    all earlier tests (and make a database for each of their tenants), and nx-27017 keeps at
    most 100 databases open and evicts the least recently used one even while it is read."""
    suffix = uuid.uuid4().hex[:8]
    tenants = TwoTenants(a=f"ta-{suffix}", b=f"tb-{suffix}")
    request.node.stash.setdefault(_TEST_TENANTS, []).extend([tenants.a, tenants.b])
    return tenants


@pytest.fixture(autouse=True)
def _clean_test_tenants(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up before, so torn down after, every other fixture of the test: its apps have
    stopped, so nothing recreates a database or publishes for its tenants after the clean-up
    (an app torn down after the clean-up did, from its in-flight work)."""
    yield
    tenants = request.node.stash.get(_TEST_TENANTS, [])
    if not tenants:
        return
    if "nats_url" in request.fixturenames:
        purge_tenant_events(request.getfixturevalue("nats_url"), tenants)
    if "mongo_url" in request.fixturenames:
        drop_tenant_databases(request.getfixturevalue("mongo_url"), tenants)


def purge_tenant_events(nats_url: str, tenants: list[str]) -> None:
    """Remove the tenants' messages from every stream (run on a thread of its own: a sync
    fixture's teardown may run while the session's event loop is running)."""

    async def purge() -> None:
        nc = await nats.connect(nats_url, connect_timeout=10, max_reconnect_attempts=3)
        try:
            jsm = nc.jsm()
            for tenant in tenants:
                for stream, subject in tenant_filters(tenant):
                    with contextlib.suppress(NotFoundError):
                        await jsm.purge_stream(stream, subject=subject)
        finally:
            await nc.close()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="purge-tenant-events") as worker:
        worker.submit(asyncio.run, purge()).result()


def drop_tenant_databases(mongo_url: str, tenants: list[str]) -> None:
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    try:
        for name in client.list_database_names():
            if name.startswith("wk_") and any(name.endswith(f"_{t}") for t in tenants):
                client.drop_database(name)
    finally:
        client.close()


@dataclass
class MailSink:
    """Messages received by the test SMTP server (`port` goes into Settings.smtp_port)."""

    port: int
    messages: list[EmailMessage]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink(port=free_port(), messages=[])
    controller = start_sink(sink.port, on_message=sink.messages.append)
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def test_issuer() -> TestIssuer:
    return TestIssuer(TEST_ISSUER_URL)


_exporter = InMemorySpanExporter()


@pytest.fixture
def span_capture() -> Iterator[InMemorySpanExporter]:
    """Finished spans of the test (a global tracer provider is installed once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    if not getattr(provider, "_wk_capture", False):
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        provider._wk_capture = True  # type: ignore[attr-defined]
    _exporter.clear()
    yield _exporter
    _exporter.clear()
