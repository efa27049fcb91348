"""Shared helpers: the real app on the embedded NATS + database, real envelopes on NATS."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from effect_measurement.main import create_app
from effect_measurement.settings import Settings
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.testing.issuer import TestIssuer

sys.path.insert(0, str(Path(__file__).parent))


@dataclass
class Harness:
    app: Any
    client: httpx.AsyncClient
    js: JetStreamContext
    issuer: TestIssuer

    async def publish(self, envelope: Envelope[Any]) -> None:
        await self.js.publish(
            envelope.nats_subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id},
        )

    async def db(self, tenant: str) -> Any:
        return await self.app.state.runtime.storage.tenant_db(tenant)

    def headers(self, tenant: str, sub: str, orgs: dict[str, list[str]]) -> dict[str, str]:
        return self.issuer.headers(sub=sub, tenant=tenant, orgs=orgs)


def settings_for(nats_url: str, mongo_url: str, **overrides: Any) -> Settings:
    # A fresh service name per app: its own databases and durable consumers.
    return Settings(
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        followup_scan_seconds=0.2,
        ingest_batch_timeout=0.2,
        **overrides,
    )


@asynccontextmanager
async def running(
    nats_url: str, mongo_url: str, issuer: TestIssuer, **settings: Any
) -> AsyncIterator[Harness]:
    """The app with these settings, started, with a client and a NATS connection."""
    app = create_app(settings_for(nats_url, mongo_url, **settings), verifier=issuer.verifier())
    nc = await nats.connect(nats_url)
    async with (
        LifespanManager(app, startup_timeout=30),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
    ):
        yield Harness(app, client, nc.jetstream(), issuer)
    await nc.drain()


@pytest.fixture
async def harness(nats_url: str, mongo_url: str, test_issuer: TestIssuer) -> AsyncIterator[Harness]:
    async with running(nats_url, mongo_url, test_issuer, followup_after_seconds=1.0) as h:
        yield h


def response(
    tenant: str,
    person: str | None,
    *,
    family: str = "self-sufficiency-matrix",
    levels: dict[str, int] | None = None,
    phases: dict[str, int] | None = None,
    scores: dict[str, float] | None = None,
    purpose: str = "measurement",
    organisation: str = "welzijn-a",
    at: datetime | None = None,
    trajectory_id: str | None = None,
) -> Envelope[ResponseSubmitted]:
    data = ResponseSubmitted(
        response_id=f"r-{uuid.uuid4().hex[:12]}",
        person_id=person,
        instrument_id=family,
        family=family,
        variant="standard",
        version=1,
        purpose=purpose,  # type: ignore[arg-type]
        submitted_at=at or datetime.now(UTC),
        dimension_scores=scores or {},
        levels=levels or {},
        phases=phases or {},
        trajectory_id=trajectory_id,
    )
    return new_event(data, tenant=tenant, subject=data.response_id, organisation=organisation)


def event(data: EventData, tenant: str, subject: str = "x") -> Envelope[Any]:
    return new_event(data, tenant=tenant, subject=subject)


async def wait_for(predicate: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def read_subject(
    js: JetStreamContext, subject: str, stream: str | None = None
) -> list[dict[str, Any]]:
    sub = await js.pull_subscribe(
        subject, stream=stream, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    messages: list[dict[str, Any]] = []
    try:
        while True:
            batch = await sub.fetch(200, timeout=0.5)
            messages += [json.loads(m.data) for m in batch]
    except TimeoutError:
        pass
    await sub.unsubscribe()
    return messages
