"""The outbox: state and events atomic; a relay killed and restarted publishes every event
exactly once into the stream."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, ClassVar

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from wijkkracht_common.events.envelope import EventData, new_event
from wijkkracht_common.outbox import OUTBOX, OutboxRelay, pending_count, stage
from wijkkracht_common.storage import Session, Storage

pytestmark = pytest.mark.integration


class ThingHappened(EventData):
    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "thing_happened_test"
    n: int


class Boom(Exception):
    pass


async def stream_messages(js: JetStreamContext, subject: str) -> list[Any]:
    sub = await js.pull_subscribe(
        subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=5)
    )
    out: list[Any] = []
    while True:
        try:
            batch = await sub.fetch(500, timeout=0.5)
        except TimeoutError:
            break
        out.extend(batch)
    await sub.unsubscribe()
    return out


async def test_state_and_event_commit_together_or_not_at_all(storage: Storage) -> None:
    tenant = "tenant-atomic"
    db = await storage.tenant_db(tenant)

    async def succeed(session: Session) -> None:
        await db.things.insert_one({"_id": "t1"}, session=session)
        await stage(db, [new_event(ThingHappened(n=1), tenant=tenant, subject="t1")],
                    session=session)

    async def fail(session: Session) -> None:
        await db.things.insert_one({"_id": "t2"}, session=session)
        await stage(db, [new_event(ThingHappened(n=2), tenant=tenant, subject="t2")],
                    session=session)
        raise Boom

    await storage.in_transaction(db, succeed)
    with pytest.raises(Boom):
        await storage.in_transaction(db, fail)

    assert await db.things.count_documents({}) == 1
    assert await db[OUTBOX].count_documents({}) == 1
    stored = await db[OUTBOX].find_one({})
    assert stored["subject"] == f"wk.{tenant}.identity.thing_happened_test.v1"


async def test_relay_killed_and_restarted_publishes_every_event_once(
    storage: Storage, js: JetStreamContext
) -> None:
    tenant = f"relay-{uuid.uuid4().hex[:6]}"
    db = await storage.tenant_db(tenant)
    events = [new_event(ThingHappened(n=i), tenant=tenant, subject=f"s{i}") for i in range(600)]
    records = await stage(db, events)

    relay = OutboxRelay(storage, js, batch_size=50, poll_seconds=0.05)
    relay.start()
    # Kill it mid-way: some batches are published, maybe one half-published and not marked.
    for _ in range(200):
        if await pending_count(db) < 600:
            break
        await asyncio.sleep(0.01)
    await relay.stop()
    assert await pending_count(db) > 0, "relay finished before it could be killed"

    # Simulate the worst crash: published but still in the outbox (the delete was lost).
    left = {d["_id"] async for d in db[OUTBOX].find({}, {"_id": 1})}
    published = [r for r in records if r["_id"] not in left][:30]
    assert published
    await db[OUTBOX].insert_many(published)

    restarted = OutboxRelay(storage, js, batch_size=50, poll_seconds=0.05)
    await restarted.run_once()
    assert await pending_count(db) == 0

    received = await stream_messages(js, f"wk.{tenant}.identity.thing_happened_test.v1")
    ids = [m.headers["Nats-Msg-Id"] for m in received]
    assert len(ids) == 600
    assert set(ids) == {e.id for e in events}
