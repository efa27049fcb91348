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
from wijkkracht_common.outbox import OUTBOX, OutboxRelay, pending_count, record_events, stage
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.storage import Session, Storage

pytestmark = pytest.mark.integration


class ThingHappened(EventData):
    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "thing_happened_test"
    n: int


class NoteTaken(EventData):
    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "note_taken_test"
    note: str


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
        for msg in batch:
            await msg.ack()  # stay below the consumer's max_ack_pending (1,000)
        out.extend(batch)
    await sub.unsubscribe()
    return out


async def test_state_and_event_commit_together_or_not_at_all(storage: Storage) -> None:
    tenant = "tenant-atomic"
    db = await storage.tenant_db(tenant)

    async def succeed(session: Session) -> None:
        await db.things.insert_one({"_id": "t1"}, session=session)
        await stage(
            db, [new_event(ThingHappened(n=1), tenant=tenant, subject="t1")], session=session
        )

    async def fail(session: Session) -> None:
        await db.things.insert_one({"_id": "t2"}, session=session)
        await stage(
            db, [new_event(ThingHappened(n=2), tenant=tenant, subject="t2")], session=session
        )
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


async def test_batch_records_publish_every_event_in_order_and_leave(
    storage: Storage, js: JetStreamContext
) -> None:
    tenant = f"batch-{uuid.uuid4().hex[:6]}"
    db = await storage.tenant_db(tenant)
    events = [new_event(ThingHappened(n=i), tenant=tenant, subject=f"s{i}") for i in range(1500)]

    records = await stage(db, events, batched=True)

    assert [r["count"] for r in records] == [1000, 500]  # BATCH_RECORD_EVENTS per record
    assert await db[OUTBOX].count_documents({}) == 2
    assert await pending_count(db) == 1500
    relay = OutboxRelay(storage, js, batch_size=700)
    assert await relay.run_once([tenant]) == 1500
    assert await pending_count(db) == 0
    received = await stream_messages(js, f"wk.{tenant}.identity.thing_happened_test.v1")
    assert [m.headers["Nats-Msg-Id"] for m in received] == [e.id for e in events]


async def test_a_batch_record_gives_back_every_event_exactly_as_staged(
    storage: Storage, js: JetStreamContext
) -> None:
    tenant = f"codec-{uuid.uuid4().hex[:6]}"
    db = await storage.tenant_db(tenant)
    notes = ["tab\there", "new\nline", 'quote " and \\', "émoji 🙂", "", "\r\n\t"]
    events = [
        new_event(NoteTaken(note=n), tenant=tenant, subject=f"s{i}") for i, n in enumerate(notes)
    ]
    await stage(db, events, batched=True)

    stored = await db[OUTBOX].find_one({})
    assert stored is not None and stored["count"] == len(notes)
    assert record_events(stored) == [(e.id, e.nats_subject, e.model_dump_json()) for e in events]
    assert "events_z" in stored  # compressed

    odd = [
        new_event(NoteTaken(note="x"), tenant=tenant, subject="odd").model_copy(
            update={"id": f"odd\tid-{i}"}
        )
        for i in range(3)
    ]  # an id is only a string
    await stage(db, odd, batched=True)  # such events are staged one per record
    kept = [await db[OUTBOX].find_one({"_id": e.id}) for e in odd]
    assert all(k is not None and "events_z" not in k for k in kept)
    assert [record_events(k)[0] for k in kept if k is not None] == [
        (e.id, e.nats_subject, e.model_dump_json()) for e in odd
    ]
    await db[OUTBOX].delete_many({"_id": {"$in": [e.id for e in odd]}})
    assert await OutboxRelay(storage, js).run_once([tenant]) == len(notes)
    received = await stream_messages(js, f"wk.{tenant}.identity.note_taken_test.v1")
    assert [m.data for m in received] == [e.model_dump_json().encode() for e in events]


async def test_a_half_published_batch_record_stays_and_is_published_again_without_repeats(
    storage: Storage, js: JetStreamContext
) -> None:
    tenant = f"half-{uuid.uuid4().hex[:6]}"
    db = await storage.tenant_db(tenant)
    events = [new_event(ThingHappened(n=i), tenant=tenant, subject=f"s{i}") for i in range(20)]
    await stage(db, events, batched=True)

    class FailingAfter:
        """A JetStream context whose publishes fail after the first `n`."""

        def __init__(self, n: int) -> None:
            self.left = n

        async def publish_async(self, *args: Any, **kwargs: Any) -> Any:
            if self.left == 0:
                raise ConnectionError("nats went away")
            self.left -= 1
            return await js.publish_async(*args, **kwargs)

    broken = OutboxRelay(storage, FailingAfter(7), batch_size=100)  # type: ignore[arg-type]
    assert await broken.run_once([tenant]) == 0
    assert await pending_count(db) == 20  # the record holds events not yet published

    assert await OutboxRelay(storage, js).run_once([tenant]) == 20
    received = await stream_messages(js, f"wk.{tenant}.identity.thing_happened_test.v1")
    assert [m.headers["Nats-Msg-Id"] for m in received] == [e.id for e in events]


async def test_runtime_commit_with_batch_events_hands_the_batch_record_to_the_relay(
    storage: Storage, js: JetStreamContext, nats_url: str, mongo_url: str
) -> None:
    settings = BaseServiceSettings(
        service_name="outboxtest",
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        log_level="WARNING",
    )
    runtime = ServiceRuntime(settings)
    tenant = f"commit-{uuid.uuid4().hex[:6]}"
    events = [new_event(ThingHappened(n=i), tenant=tenant, subject=f"c{i}") for i in range(50)]

    async def work(db: Any, session: Session) -> tuple[int, list[Any]]:
        await db.things.insert_one({"_id": "state"}, session=session)
        return 1, events

    async with runtime.lifespan():
        assert await runtime.commit(tenant, work, batch_events=True) == 1
        db = await runtime.storage.tenant_db(tenant)
        for _ in range(200):
            if await pending_count(db) == 0:
                break
            await asyncio.sleep(0.02)
        assert await pending_count(db) == 0
        await runtime.storage.drop_tenant(tenant)
    received = await stream_messages(js, f"wk.{tenant}.identity.thing_happened_test.v1")
    assert [m.headers["Nats-Msg-Id"] for m in received] == [e.id for e in events]


async def test_a_record_of_the_retired_format_stays_pending_and_blocks_nothing_before_it(
    storage: Storage, js: JetStreamContext
) -> None:
    tenant = f"retired-{uuid.uuid4().hex[:6]}"
    db = await storage.tenant_db(tenant)
    first = new_event(ThingHappened(n=1), tenant=tenant, subject="r1")
    await stage(db, [first])
    # A batch record as written before the compressed block (a list of sub-documents).
    legacy = new_event(ThingHappened(n=2), tenant=tenant, subject="r2")
    await db[OUTBOX].insert_one(
        {
            "_id": legacy.id,
            "count": 1,
            "headers": {},
            "status": "pending",
            "events": [
                {
                    "id": legacy.id,
                    "subject": legacy.nats_subject,
                    "payload": legacy.model_dump_json(),
                }
            ],
        }
    )

    assert await OutboxRelay(storage, js).run_once([tenant]) == 1
    left = await db[OUTBOX].find({}).to_list(None)
    assert [doc["_id"] for doc in left] == [legacy.id]  # kept, never dropped
    received = await stream_messages(js, f"wk.{tenant}.identity.thing_happened_test.v1")
    assert [m.headers["Nats-Msg-Id"] for m in received] == [first.id]
    await storage.drop_tenant(tenant)


async def test_handed_records_past_the_limit_wait_in_the_outbox_not_in_memory(
    storage: Storage, js: JetStreamContext
) -> None:
    """The hand-off is bounded: records past `handoff_limit` are not held by the relay; their
    tenant is marked for a pass that reads them from the outbox, so every event is still
    published once."""
    tenant = f"handoff-{uuid.uuid4().hex[:6]}"
    db = await storage.tenant_db(tenant)
    events = [new_event(ThingHappened(n=i), tenant=tenant, subject=f"h{i}") for i in range(30)]
    first = await stage(db, events[:10])
    second = await stage(db, events[10:])

    relay = OutboxRelay(storage, js, handoff_limit=15)
    relay.handoff(tenant, first)
    relay.handoff(tenant, second)  # 10 + 20 > 15: left in the outbox, the tenant marked
    assert relay._dirty == {tenant}
    assert await relay._publish_handed() == 10
    assert await pending_count(db) == 20
    assert await relay.run_once([tenant]) == 20
    assert await pending_count(db) == 0
    received = await stream_messages(js, f"wk.{tenant}.identity.thing_happened_test.v1")
    assert sorted(m.headers["Nats-Msg-Id"] for m in received) == sorted(e.id for e in events)


async def test_stopping_steps_run_before_the_runtime_stops_and_one_failing_skips_nothing(
    js: JetStreamContext, nats_url: str, mongo_url: str
) -> None:
    """`on_stopping`: what a service finishes at shutdown is committed and its event
    published (the storage and the relay still run); a failing step is logged and the next
    step and the runtime's own shutdown still run."""
    settings = BaseServiceSettings(
        service_name="outboxtest", nats_url=nats_url, mongo_url=mongo_url, env="test"
    )
    runtime = ServiceRuntime(settings)
    tenant = f"stop-{uuid.uuid4().hex[:6]}"
    event = new_event(ThingHappened(n=1), tenant=tenant, subject="last")
    ran: list[str] = []

    async def failing() -> None:
        ran.append("failing")
        raise RuntimeError("a step that breaks")

    async def finish_work() -> None:
        async def work(db: Any, session: Session) -> tuple[None, list[Any]]:
            await db.things.insert_one({"_id": "finished at shutdown"}, session=session)
            return None, [event]

        await runtime.commit(tenant, work)
        ran.append("finished")

    runtime.on_stopping(failing)
    runtime.on_stopping(finish_work)
    async with runtime.lifespan():
        pass
    assert ran == ["failing", "finished"]
    received = await stream_messages(js, f"wk.{tenant}.identity.thing_happened_test.v1")
    assert [m.headers["Nats-Msg-Id"] for m in received] == [event.id]
    storage = Storage(mongo_url, "outboxtest")
    try:
        db = await storage.tenant_db(tenant)
        assert await db.things.find_one({"_id": "finished at shutdown"}) is not None
        await storage.drop_tenant(tenant)
    finally:
        storage.close()
