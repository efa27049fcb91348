"""The real app on the real embedded NATS + database, tokens from the test issuer.

Helpers live on the `qs` fixture (with --import-mode=importlib test modules cannot import
each other).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from nats.js.api import ConsumerConfig, DeliverPolicy
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.domain.definition import InstrumentDefinition, Item
from questionnaires.main import create_app
from questionnaires.settings import Settings
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.messaging import ensure_streams
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import MailSink, TwoTenants

PREFIX = "/questionnaires/v1"


def value_for(item: Item, pick: int = 0) -> Any:
    kind = item.answer_type
    if kind == "scale_0_10":
        return pick
    if kind == "yes_no":
        return True
    if kind == "single_choice":
        return item.options[min(pick, len(item.options) - 1)].code
    if kind == "multiple_choice":
        return [item.options[0].code]
    if kind == "number":
        return int(item.min_value or 0)
    return "prima"


def complete_answers(
    definition: InstrumentDefinition, pick: int = 5, discuss: int = 1
) -> dict[str, Any]:
    """Every item (gates answered yes, so follow-up items are enabled); the first `discuss`
    discussable items are marked "I want to talk about this"."""
    answers: dict[str, Any] = {}
    marked = 0
    for item in definition.items():
        answer: dict[str, Any] = {"value": value_for(item, pick)}
        if item.discussable and marked < discuss:
            answer["discussable"] = True
            marked += 1
        answers[item.link_id] = answer
    return answers


@dataclass
class Harness:
    client: httpx.AsyncClient
    app: FastAPI
    issuer: TestIssuer
    tenants: TwoTenants
    nats_url: str
    mail: MailSink

    def headers(
        self, sub: str, *, tenant: str | None = None, orgs: dict[str, list[str]] | None = None
    ) -> dict[str, str]:
        return self.issuer.headers(
            sub=sub, tenant=tenant or self.tenants.a, orgs=orgs or {"wijkteam": ["resident"]}
        )

    def resident(self, sub: str = "person-r1", tenant: str | None = None) -> dict[str, str]:
        return self.headers(sub, tenant=tenant)

    def professional(
        self,
        sub: str = "person-p1",
        org: str = "de-smd",
        tenant: str | None = None,
        role: str = "professional",
    ) -> dict[str, str]:
        return self.headers(sub, tenant=tenant, orgs={org: [role]})

    def admin(
        self, sub: str = "person-a1", org: str = "de-smd", tenant: str | None = None
    ) -> dict[str, str]:
        return self.headers(sub, tenant=tenant, orgs={org: ["org_admin"]})

    def answers(self, instrument_id: str, pick: int = 5) -> dict[str, Any]:
        return complete_answers(shipped_instrument(instrument_id), pick)

    async def start(
        self, headers: dict[str, str], instrument_id: str, **body: Any
    ) -> dict[str, Any]:
        r = await self.client.post(
            f"{PREFIX}/responses", json={"instrument_id": instrument_id, **body}, headers=headers
        )
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    async def fill_and_submit(
        self, headers: dict[str, str], instrument_id: str, pick: int = 5, **body: Any
    ) -> dict[str, Any]:
        started = await self.start(headers, instrument_id, **body)
        answers = complete_answers(shipped_instrument(instrument_id), pick)
        r = await self.client.post(
            f"{PREFIX}/responses/{started['id']}/submit", json={"answers": answers}, headers=headers
        )
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def publish(
        self,
        data: EventData,
        *,
        tenant: str | None = None,
        organisation: str | None = None,
        subject: str = "s",
    ) -> str:
        """Publish a real event envelope to JetStream, as its producing service would."""
        envelope = new_event(
            data,
            tenant=tenant or self.tenants.a,
            subject=subject,
            organisation=organisation,
            actor="test",
        )
        await self.send(envelope)
        return envelope.id

    async def send(self, envelope: Envelope[Any], *, msg_id: str | None = None) -> None:
        """Publish an envelope to JetStream; the same envelope under another `msg_id` is a
        redelivery the stream does not de-duplicate."""
        nc = await nats.connect(self.nats_url)
        try:
            js = nc.jetstream()
            await ensure_streams(js)
            await js.publish(
                envelope.nats_subject,
                envelope.model_dump_json().encode(),
                headers={"Nats-Msg-Id": msg_id or envelope.id},
            )
        finally:
            await nc.drain()

    async def consumer_info(self, durable: str, stream: str = "IDENTITY") -> Any:
        """The service's durable consumer (e.g. to wait until it acknowledged everything)."""
        return await self.app.state.runtime.js.consumer_info(stream, durable)

    async def events(
        self, event: str, tenant: str | None = None, settle: float = 0.0
    ) -> list[dict[str, Any]]:
        """Every `<event>` message of the tenant in the QUESTIONNAIRES stream."""
        if settle:
            await asyncio.sleep(settle)
        # `>`: the version, and the slot of a partitioned event (response_submitted).
        subject = f"wk.{tenant or self.tenants.a}.questionnaires.{event}.>"
        nc = await nats.connect(self.nats_url)
        try:
            js = nc.jetstream()
            sub = await js.pull_subscribe(
                subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
            )
            out: list[dict[str, Any]] = []
            while True:
                try:
                    msgs = await sub.fetch(100, timeout=0.5)
                except (TimeoutError, nats.errors.TimeoutError):
                    break
                for m in msgs:
                    out.append(json.loads(m.data))
                    await m.ack()
            await sub.unsubscribe()
            return out
        finally:
            await nc.drain()

    async def wait_events(
        self, event: str, count: int = 1, tenant: str | None = None, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        async def ready() -> list[dict[str, Any]] | None:
            found = await self.events(event, tenant)
            return found if len(found) >= count else None

        return await eventually(ready, timeout)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    """Poll until `check()` returns something truthy (no duration is asserted)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


@pytest.fixture
def settings(
    nats_url: str, mongo_url: str, test_issuer: TestIssuer, mail_sink: MailSink
) -> Settings:
    return Settings(
        nats_url=nats_url,
        mongo_url=mongo_url,
        issuer=test_issuer.issuer,
        env="test",
        smtp_port=mail_sink.port,
        outbox_poll_seconds=0.1,
        anonymous_starts_per_minute=1000,
    )


@pytest.fixture
async def qs(
    settings: Settings,
    test_issuer: TestIssuer,
    two_tenants: TwoTenants,
    nats_url: str,
    mail_sink: MailSink,
) -> AsyncIterator[Harness]:
    app = create_app(settings, verifier=test_issuer.verifier())
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client,
    ):
        yield Harness(client, app, test_issuer, two_tenants, nats_url, mail_sink)


@pytest.fixture
def eventually_() -> Callable[..., Awaitable[Any]]:
    return eventually


@pytest.fixture
def answers_for() -> Callable[..., dict[str, Any]]:
    return complete_answers


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
