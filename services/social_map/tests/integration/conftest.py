from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from nats.js.client import JetStreamContext
from social_map.main import create_app
from social_map.settings import Settings
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TEST_ISSUER_URL, MailSink

sys.path.insert(0, str(Path(__file__).parent))

PREFIX = "/social-map/v1"


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: float) -> datetime:
        self.now = self.now + timedelta(days=days)
        return self.now


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: TestIssuer
    clock: FakeClock
    js: JetStreamContext

    def headers(self, tenant: str, sub: str = "p-admin", **orgs: list[str]) -> dict[str, str]:
        return self.issuer.headers(
            sub=sub, tenant=tenant, orgs={k.replace("_", "-"): v for k, v in orgs.items()}
        )

    async def publish(self, envelope: Envelope[Any]) -> None:
        await self.js.publish(
            envelope.nats_subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id},
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@asynccontextmanager
async def running_api(
    nats_url: str,
    mongo_url: str,
    mail_sink: MailSink,
    test_issuer: TestIssuer,
    clock: FakeClock,
    **overrides: Any,
) -> AsyncIterator[Api]:
    """The service in this process, with a client; `overrides`: settings of the test."""
    fields: dict[str, Any] = {
        "nats_url": nats_url,
        "mongo_url": mongo_url,
        "env": "test",
        "issuer": TEST_ISSUER_URL,
        "smtp_port": mail_sink.port,
        "run_freshness_sweep": False,
        "adopt_legacy_consents": False,
        # the shared test server holds many tenants' databases: build indexes on first use
        "search_warm_at_startup": False,
        "outbox_poll_seconds": 0.1,
        # the tests read staged events from the outbox: keep them there once published
        "outbox_retain_sent": True,
        "public_base_url": "http://t/social-map/v1",
        "verification_secret": "x" * 40,
    }
    settings = Settings(**{**fields, **overrides})
    app = create_app(settings, verifier=test_issuer.verifier(), clock=clock)
    async with LifespanManager(app, startup_timeout=60):
        nc = await nats.connect(nats_url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Api(app, client, test_issuer, clock, nc.jetstream())
        await nc.drain()


@pytest.fixture
async def api(
    nats_url: str, mongo_url: str, mail_sink: MailSink, test_issuer: TestIssuer, clock: FakeClock
) -> AsyncIterator[Api]:
    async with running_api(nats_url, mongo_url, mail_sink, test_issuer, clock) as running:
        yield running
