from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from marketplace.main import create_app
from marketplace.settings import Settings
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TEST_ISSUER_URL, MailSink

sys.path.insert(0, str(Path(__file__).parent))

from mp_harness import FakeClock, Market


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def market(
    nats_url: str, mongo_url: str, mail_sink: MailSink, test_issuer: TestIssuer, clock: FakeClock
) -> AsyncIterator[Market]:
    settings = Settings(
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        issuer=TEST_ISSUER_URL,
        smtp_port=mail_sink.port,
        outbox_poll_seconds=0.1,
        expiry_sweep_seconds=3600,
        digest_interval_seconds=3600,
    )
    app = create_app(settings, verifier=test_issuer.verifier(), clock=clock)
    async with LifespanManager(app, startup_timeout=60):
        nc = await nats.connect(nats_url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Market(app, client, test_issuer, clock, nc.jetstream(), mongo_url, mail_sink)
        await nc.drain()
