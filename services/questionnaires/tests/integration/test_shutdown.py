"""Stopping without losing work, on the real NATS and database (issue 16, finding 7).

The shutdown stops taking work first and lets the work already running finish: a submit in
flight is committed and its event reaches the stream, a submit arriving meanwhile is refused
(503) and stays in progress, and consumed events whose work had not begun are left for
redelivery and applied by the next instance. No duration is measured: the test holds the
work at a known point and looks at what was stored and published.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from nats.js.api import ConsumerConfig, DeliverPolicy
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.main import PREFIX, create_app
from questionnaires.service import tenant_registry
from questionnaires.service.context import Context
from questionnaires.settings import Settings
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import TenantCreated
from wijkkracht_common.messaging import ensure_streams
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.stopping import assert_refused_while_stopping
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


@dataclass
class Running:
    """One instance of the service, started by the test and stopped when the test says."""

    app: FastAPI
    client: httpx.AsyncClient
    manager: LifespanManager

    @property
    def ctx(self) -> Context:
        ctx: Context = self.app.state.ctx
        return ctx

    async def stop(self) -> None:
        await self.manager.__aexit__(None, None, None)

    async def stopping(self) -> bool:
        """The shutdown began: the service takes no new work."""
        return self.ctx.intake.closed


@asynccontextmanager
async def instance(settings: Settings, issuer: TestIssuer) -> AsyncIterator[Running]:
    app = create_app(settings, verifier=issuer.verifier())
    # No time limit of the test's own: the test decides when work may go on.
    manager = LifespanManager(app, startup_timeout=None, shutdown_timeout=None)
    await manager.__aenter__()
    running = Running(
        app, httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t"), manager
    )
    try:
        yield running
    finally:
        await running.client.aclose()
        if not running.ctx.intake.closed:
            await running.stop()


async def published(nats_url: str, tenant: str, event: str) -> list[dict[str, Any]]:
    """Every `<event>` of the tenant in the QUESTIONNAIRES stream."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            f"wk.{tenant}.questionnaires.{event}.>",  # the version (and a partitioned slot)
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        found: list[dict[str, Any]] = []
        while True:
            try:
                messages = await sub.fetch(100, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            for message in messages:
                found.append(json.loads(message.data))
                await message.ack()
        await sub.unsubscribe()
        return found
    finally:
        await nc.drain()


async def test_a_submit_in_flight_at_shutdown_is_committed_and_never_lost(
    settings: Settings,
    test_issuer: TestIssuer,
    two_tenants: TwoTenants,
    nats_url: str,
    answers_for: Callable[..., dict[str, Any]],
) -> None:
    tenant = two_tenants.a
    me = test_issuer.headers(sub="person-r1", tenant=tenant, orgs={"wijkteam": ["resident"]})
    async with instance(settings, test_issuer) as one:
        ids = []
        for _ in range(2):
            started = await one.client.post(
                f"{PREFIX}/responses", json={"instrument_id": "health-short"}, headers=me
            )
            assert started.status_code == 201, started.text
            ids.append(started.json()["id"])
        in_flight, late = ids
        # Hold the group commit's transaction once it begins (the database is real).
        began, go_on = asyncio.Event(), asyncio.Event()
        uow: Any = one.ctx.uow
        commit = uow.commit

        async def held(tenant: str, work: Any, *, mail: bool = False) -> Any:
            began.set()
            await go_on.wait()
            return await commit(tenant, work, mail=mail)

        uow.commit = held
        body = {"answers": answers_for(shipped_instrument("health-short"))}
        submit = asyncio.create_task(
            one.client.post(f"{PREFIX}/responses/{in_flight}/submit", json=body, headers=me)
        )
        await began.wait()
        stopping = asyncio.create_task(one.stop())
        await eventually(one.stopping)
        # A submit arriving now is refused; nothing of it is stored.
        refused = await one.client.post(f"{PREFIX}/responses/{late}/submit", json=body, headers=me)
        assert_refused_while_stopping(refused, settings.unavailable_retry_after_seconds)
        # The shutdown waits for the submit it holds: the storage stays open for it.
        assert not stopping.done() and not submit.done()
        go_on.set()
        answered = await submit
        await stopping
        assert answered.status_code == 200 and answered.json()["status"] == "submitted"

    # The next instance finds the submit committed and its event in the stream (published
    # before the relay stopped, or by this instance's relay), and takes the refused one.
    async with instance(settings, test_issuer) as two:
        stored = await (await two.ctx.reader(tenant)).responses.get(in_flight)
        assert stored is not None and stored.status == "submitted"
        still = await (await two.ctx.reader(tenant)).responses.get(late)
        assert still is not None and still.status == "in_progress"

        async def event_published() -> bool:
            events = await published(nats_url, tenant, "response_submitted")
            return in_flight in {e["subject"] for e in events}

        await eventually(event_published)
        again = await two.client.post(f"{PREFIX}/responses/{late}/submit", json=body, headers=me)
        assert again.status_code == 200, again.text


async def test_consumed_events_not_begun_at_shutdown_are_applied_by_the_next_instance(
    settings: Settings, test_issuer: TestIssuer, nats_url: str
) -> None:
    slugs = [f"stop{uuid.uuid4().hex[:10]}" for _ in range(4)]
    async with instance(settings, test_issuer) as one:
        # Seeding a new tenant's instruments waits behind this lock: hold it, so the
        # `tenant_created` handlers register their tenant and then wait, not yet begun.
        await one.ctx.seed_lock.acquire()
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await ensure_streams(js)
            for slug in slugs:
                envelope = new_event(TenantCreated(tenant_slug=slug), tenant=slug, subject=slug)
                await js.publish(
                    envelope.nats_subject,
                    envelope.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": envelope.id},
                )
        finally:
            await nc.drain()

        async def some_registered() -> bool:
            known = [await tenant_registry.is_known(one.ctx, slug) for slug in slugs]
            return any(known)

        await eventually(some_registered)
        stopping = asyncio.create_task(one.stop())
        await eventually(one.stopping)
        one.ctx.seed_lock.release()
        await stopping
        # The waiting handlers gave way instead of seeding during the shutdown.
        assert one.ctx.intake.refused >= 1
        assert not set(slugs) & one.ctx.seeded_tenants

    # Their messages were nak'd: the next instance applies every event once more.
    async with instance(settings, test_issuer) as two:
        try:

            async def all_seeded() -> bool:
                return set(slugs) <= two.ctx.seeded_tenants

            await eventually(all_seeded, timeout=60)
            for slug in slugs:
                assert await tenant_registry.is_known(two.ctx, slug)
        finally:
            for slug in slugs:
                await two.app.state.runtime.storage.drop_tenant(slug)
