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
from wijkkracht_common.events.identity import (
    ConsentGranted,
    ConsentPurpose,
    ConsentRevoked,
    PersonRegistered,
)
from wijkkracht_common.events.learning_paths import ModuleCompleted
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import durable_name
from wijkkracht_common.testing.issuer import TestIssuer

sys.path.insert(0, str(Path(__file__).parent))
SERVICE = "effect_measurement"
ORG = "welzijn-a"


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


def new_person() -> str:
    return str(uuid.uuid4())


def consent(
    tenant: str,
    person: str,
    *,
    granted: bool = True,
    version: int = 1,
    org: str = ORG,
    purpose: ConsentPurpose = "share_results",
) -> Any:
    cls = ConsentGranted if granted else ConsentRevoked
    data = cls(person_id=person, organisation_slug=org, purpose=purpose, version=version)
    return event(data, tenant, person)


async def applied(harness: Harness, tenant: str, envelope: Any) -> bool:
    """The single-event consumer of this event's type claimed it (applied or dropped)."""
    db = await harness.db(tenant)
    durable = durable_name(SERVICE, type(envelope.data))
    return await db.inbox.find_one({"_id": f"{durable}:{envelope.id}"}) is not None


async def publish_applied(harness: Harness, tenant: str, data: EventData, subject: str) -> Any:
    envelope = event(data, tenant, subject)
    await harness.publish(envelope)
    await wait_for(lambda: applied(harness, tenant, envelope))
    return envelope


async def register(harness: Harness, tenant: str, person: str) -> None:
    await harness.publish(
        event(PersonRegistered(person_id=person, neighbourhood_code="DM01"), tenant, person)
    )
    db = await harness.db(tenant)
    await wait_for(lambda: db.profiles.find_one({"_id": person}))


async def share(
    harness: Harness,
    tenant: str,
    person: str,
    *,
    granted: bool = True,
    version: int = 1,
    org: str = ORG,
    purpose: ConsentPurpose = "share_results",
) -> None:
    """A consent change, waited for until the projection holds it (its transaction's last
    write: nx-27017 shows a transaction's writes before it commits)."""
    changed = consent(tenant, person, granted=granted, version=version, org=org, purpose=purpose)
    await harness.publish(changed)
    db = await harness.db(tenant)
    wanted = {"person_id": person, "organisation": org, "purpose": purpose, "version": version}
    await wait_for(lambda: db.consent_states.find_one(wanted))


async def measured(harness: Harness, tenant: str, *envelopes: Any) -> None:
    """Publish responses and wait for the last one's `measurement_recorded` (the last write of
    its batch: nx-27017 lets reads see a transaction's first writes before it commits)."""
    for envelope in envelopes:
        await harness.publish(envelope)
    last = envelopes[-1].data.response_id

    async def recorded() -> bool:
        events = await read_subject(
            harness.js, f"wk.{tenant}.effect_measurement.measurement_recorded.v1"
        )
        return any(e["data"]["response_id"] == last for e in events)

    await wait_for(recorded)


def pro(harness: Harness, tenant: str, sub: str = "pro-1", org: str = ORG) -> dict[str, str]:
    return harness.headers(tenant, sub, {org: ["professional"]})


def module_completed(
    tenant: str,
    person: str,
    enrolment: str,
    *,
    started_at: datetime,
    completed_at: datetime,
    theme: str = "household_budget",
    organisation: str | None = ORG,
) -> Envelope[ModuleCompleted]:
    """Learning paths' completion of a module (assigned by `organisation`, if any)."""
    data = ModuleCompleted(
        enrolment_id=enrolment,
        person_id=person,
        module_id=f"mod-{theme}",
        version=1,
        theme=theme,
        dimensions=["finances"],
        origin="assignment" if organisation else "self",
        organisation=organisation,
        started_at=started_at,
        completed_at=completed_at,
    )
    return event(data, tenant, enrolment)
