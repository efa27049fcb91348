"""Explicit ack/nak/dead-letter policy on a real JetStream consumer."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, ClassVar

import pytest
from faststream.nats import NatsBroker
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from wijkkracht_common import inbox
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.messaging import (
    DLQ_STREAM,
    PRODUCERS,
    Delivery,
    PermanentError,
    ensure_streams,
    stream_name,
    subscribe,
)
from wijkkracht_common.storage import Session, Storage

pytestmark = pytest.mark.integration


class Counted(EventData):
    producer: ClassVar[str] = "questionnaires"
    event_name: ClassVar[str] = "counted_test"
    n: int


async def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def dlq_records(js: JetStreamContext, consumer: str) -> list[dict[str, Any]]:
    sub = await js.pull_subscribe(
        f"dlq.*.{consumer}", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    try:
        msgs = await sub.fetch(100, timeout=0.5)
    except TimeoutError:
        msgs = []
    await sub.unsubscribe()
    return [json.loads(m.data) for m in msgs]


async def test_policy(nats_url: str, storage: Storage) -> None:
    service = f"svc{uuid.uuid4().hex[:6]}"
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    broker = NatsBroker(nats_url, logger=None)
    failures: dict[int, int] = {}

    async def handler(envelope: Envelope[Counted], delivery: Delivery) -> bool:
        if envelope.data.n == 13 and failures.get(13, 0) < 2:
            failures[13] = failures.get(13, 0) + 1
            raise RuntimeError("simulated outage")
        if envelope.data.n == 666:
            raise PermanentError("the number of the beast is not allowed")
        db = await storage.tenant_db(envelope.tenant)

        async def apply(session: Session) -> bool:
            if not await inbox.claim(db, delivery.durable, envelope.id, session=session):
                return False
            await db.seen.insert_one({"n": envelope.data.n}, session=session)
            return True

        return await storage.in_transaction(db, apply)

    await broker.connect()
    js = broker.config.broker_config.connection_state.stream
    await ensure_streams(js)
    subscribe(
        broker,
        consumer_service=service,
        event_cls=Counted,
        handler=handler,
        js=lambda: js,
        max_deliver=5,
    )
    await broker.start()
    try:
        good = new_event(Counted(n=1), tenant=tenant, subject="a")
        subject = good.nats_subject
        payload = good.model_dump_json().encode()
        # The same event twice with different NATS message ids: JetStream keeps both.
        await js.publish(subject, payload, headers={"Nats-Msg-Id": "x1"})
        await js.publish(subject, payload, headers={"Nats-Msg-Id": "x2"})
        await js.publish(subject, b"{not json")  # invalid payload
        wrong_tenant = new_event(Counted(n=2), tenant="other-tenant", subject="b")
        await js.publish(subject, wrong_tenant.model_dump_json().encode())
        await js.publish(
            subject,
            new_event(Counted(n=666), tenant=tenant, subject="c").model_dump_json().encode(),
        )
        await js.publish(
            subject, new_event(Counted(n=13), tenant=tenant, subject="d").model_dump_json().encode()
        )
        await js.publish(
            subject, new_event(Counted(n=3), tenant=tenant, subject="e").model_dump_json().encode()
        )

        db = await storage.tenant_db(tenant)

        async def all_applied() -> bool:
            return await db.seen.count_documents({}) >= 3

        await wait_for(all_applied, timeout=20)
        await asyncio.sleep(0.3)
        seen = sorted([d["n"] async for d in db.seen.find({})])
        assert seen == [1, 3, 13]  # 1 once, 13 after two retries, 3 after the bad ones
        assert failures[13] == 2

        durable = f"{service}__questionnaires_counted_test_v1"
        records = await dlq_records(js, durable)
        reasons = sorted(r["reason"] for r in records)
        assert reasons == ["invalid", "invalid", "invalid"]
        assert any("beast" in r["error"] for r in records)
        assert any(r["data"] == "{not json" for r in records)
        assert all(r["original_subject"] == subject for r in records)
    finally:
        await broker.stop()


async def test_every_stream_gets_the_bounded_age_also_when_it_existed_before(
    js: JetStreamContext,
) -> None:
    await ensure_streams(js)  # as an older version left them: no age
    await ensure_streams(js, max_age_seconds=30 * 86_400)
    for name in [*(stream_name(p) for p in PRODUCERS), DLQ_STREAM]:
        info = await js.stream_info(name)
        assert info.config.max_age == pytest.approx(30 * 86_400), name
    await ensure_streams(js, max_age_seconds=7 * 86_400)  # a tighter policy applies too
    assert (await js.stream_info("IDENTITY")).config.max_age == pytest.approx(7 * 86_400)
    await ensure_streams(js, max_age_seconds=30 * 86_400)
