"""Fixtures of the integration tests (the harness lives in lp_harness.py, a unique module
name: tests run with --import-mode=importlib beside other services' tests)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from learning_paths.main import create_app
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import MailSink

sys.path.insert(0, str(Path(__file__).parent))

from lp_harness import Api, FakeCredentials, settings_for


@pytest.fixture
async def api(
    nats_url: str, mongo_url: str, test_issuer: TestIssuer, mail_sink: MailSink
) -> AsyncIterator[Api]:
    credentials = FakeCredentials()
    app = create_app(
        settings_for(nats_url, mongo_url, mail_sink.port),
        verifier=test_issuer.verifier(),
        credentials=credentials,
    )
    nc = await nats.connect(nats_url)
    try:
        async with LifespanManager(app, startup_timeout=60):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield Api(app, client, test_issuer, nc, nc.jetstream(), credentials)
    finally:
        await nc.drain()
        await asyncio.sleep(0)
