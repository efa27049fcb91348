"""`subscribe_batch` on a real JetStream consumer and the embedded database: invalid events go
to the DLQ with the reason while the rest of the batch applies; duplicates (in one batch and
across redeliveries) apply once; a transient failure is retried."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from opentelemetry import propagate
from pymongo.errors import AutoReconnect
from wijkkracht_common import inbox
from wijkkracht_common.batch_consumer import BatchConsumer, subscribe_batch
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.storage import Database, Session, Storage

pytestmark = pytest.mark.integration


class Batched(EventData):
    producer: ClassVar[str] = "questionnaires"
    event_name: ClassVar[str] = "batched_test"
    n: int


async def wait_for(predicate: Any, timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def dlq_records(js: JetStreamContext, consumer: str) -> list[dict[str, Any]]:
    sub = await js.pull_subscribe(
        f"dlq.*.{consumer}", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    records: list[dict[str, Any]] = []
    try:
        while True:
            records += [json.loads(m.data) for m in await sub.fetch(100, timeout=0.5)]
    except TimeoutError:
        pass
    await sub.unsubscribe()
    return records


class Recorder:
    """An `apply` that stores each event's number, refuses 666 and fails once on 13."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.batches: list[list[int]] = []
        self.outages = 0

    async def __call__(
        self, db: Database[dict[str, Any]], envelopes: Sequence[Envelope[Batched]], durable: str
    ) -> dict[str, str]:
        numbers = [e.data.n for e in envelopes]
        self.batches.append(numbers)
        if 13 in numbers and self.outages == 0:
            self.outages += 1
            raise AutoReconnect("simulated database outage")
        refused = {e.id: "666 is not allowed" for e in envelopes if e.data.n == 666}
        keep = [e for e in envelopes if e.id not in refused]

        async def work(session: Session) -> None:
            await inbox.claim_many(db, durable, [e.id for e in keep], session=session)
            if keep:
                await db.applied.insert_many(
                    [{"n": e.data.n, "event": e.id} for e in keep], session=session
                )

        await self.storage.in_transaction(db, work)
        return refused


async def publish(js: JetStreamContext, envelope: Envelope[Any], msg_id: str | None = None) -> None:
    await js.publish(
        envelope.nats_subject,
        envelope.model_dump_json().encode(),
        headers={"Nats-Msg-Id": msg_id or envelope.id},
    )


async def test_batch_policy(js: JetStreamContext, nc: Client, storage: Storage) -> None:
    service = f"svc{uuid.uuid4().hex[:6]}"
    tenant, other = f"t-{uuid.uuid4().hex[:6]}", f"u-{uuid.uuid4().hex[:6]}"
    recorder = Recorder(storage)
    consumer: BatchConsumer[Batched] = subscribe_batch(
        consumer_service=service,
        event_cls=Batched,
        apply=recorder,
        storage=storage,
        js=lambda: js,
        batch_size=50,
        batch_timeout=0.2,
        max_deliver=4,
    )
    # Everything is published before the consumer starts: one batch holds it all.
    good = [new_event(Batched(n=i), tenant=tenant, subject="s") for i in (1, 2, 3)]
    for envelope in good:
        await publish(js, envelope)
    twice = new_event(Batched(n=4), tenant=tenant, subject="s")
    await publish(js, twice, "a-" + twice.id)
    await publish(js, twice, "b-" + twice.id)  # the same event twice in one batch
    subject = good[0].nats_subject
    await js.publish(subject, b"{not json")
    beast = new_event(Batched(n=666), tenant=tenant, subject="s")
    await publish(js, beast)
    stray = new_event(Batched(n=5), tenant=other, subject="s")
    await js.publish(subject, stray.model_dump_json().encode())  # tenant ≠ subject tenant
    consumer.start(js, nc)
    try:
        db = await storage.tenant_db(tenant)

        async def applied() -> list[int]:
            return sorted([d["n"] async for d in db.applied.find({})])

        assert await wait_for(lambda: _equals(applied, [1, 2, 3, 4])) is True

        # Redelivery of an applied event (a producer retry with a new message id): no effect.
        await publish(js, good[0], "again-" + good[0].id)
        # A transient failure: the batch is nak'ed with back-off and applied on redelivery.
        unlucky = new_event(Batched(n=13), tenant=tenant, subject="s")
        await publish(js, unlucky)
        assert await wait_for(lambda: _equals(applied, [1, 2, 3, 4, 13])) is True
        assert recorder.outages == 1
        assert sum(batch.count(13) for batch in recorder.batches) == 2  # failed, then applied
        assert all(batch.count(4) <= 1 for batch in recorder.batches)  # deduplicated
        assert all(1 not in batch for batch in recorder.batches[1:])  # redelivery skipped

        async def dead() -> list[dict[str, Any]] | None:
            found = await dlq_records(js, consumer.durable)
            return found if len(found) >= 3 else None

        records = await wait_for(dead)
        assert {r["reason"] for r in records} == {"invalid"}
        errors = " ".join(str(r["error"]) for r in records)
        assert "666 is not allowed" in errors
        assert "differs from subject tenant" in errors
        assert any(r["data"] == "{not json" for r in records)
        assert len(records) == 3
    finally:
        await consumer.stop()
    assert await (await storage.tenant_db(other)).applied.count_documents({}) == 0
    assert await db.applied.count_documents({}) == 5


async def _equals(read: Any, expected: list[int]) -> bool:
    return bool(await read() == expected)


async def test_without_inbox_apply_sees_redeliveries_and_its_natural_key_keeps_one_effect(
    js: JetStreamContext, nc: Client, storage: Storage
) -> None:
    service = f"svc{uuid.uuid4().hex[:6]}"
    tenant = f"n-{uuid.uuid4().hex[:6]}"
    seen: list[list[int]] = []

    async def apply(
        db: Database[dict[str, Any]], envelopes: Sequence[Envelope[Batched]], durable: str
    ) -> dict[str, str]:
        # The stream also holds other tests' events (other tenants): note only ours.
        seen.append([e.data.n for e in envelopes if e.tenant == tenant])

        async def work(session: Session) -> None:
            # The natural key: one document per number, whatever the event id.
            known = {
                d["_id"]
                async for d in db.applied.find(
                    {"_id": {"$in": [e.data.n for e in envelopes]}}, session=session
                )
            }
            fresh = [e for e in envelopes if e.data.n not in known]
            if fresh:
                await db.applied.insert_many([{"_id": e.data.n} for e in fresh], session=session)

        await storage.in_transaction(db, work)
        return {}

    consumer: BatchConsumer[Batched] = subscribe_batch(
        consumer_service=service,
        event_cls=Batched,
        apply=apply,
        storage=storage,
        js=lambda: js,
        batch_size=50,
        batch_timeout=0.2,
        use_inbox=False,
    )
    first = new_event(Batched(n=1), tenant=tenant, subject="s")
    await publish(js, first, "a-" + first.id)
    await publish(js, first, "b-" + first.id)  # twice in one batch: apply sees it once
    consumer.start(js, nc)
    try:
        db = await storage.tenant_db(tenant)
        assert await wait_for(lambda: _count(db, 1)) is True
        await publish(js, first, "c-" + first.id)  # redelivered later: apply sees it again
        second = new_event(Batched(n=2), tenant=tenant, subject="s")
        await publish(js, second)
        assert await wait_for(lambda: _count(db, 2)) is True
        assert await wait_for(lambda: _true(sum(b.count(1) for b in seen) == 2)) is True
        assert not await db.inbox.find_one({})  # nothing claimed
    finally:
        await consumer.stop()
    assert next(b for b in seen if b) == [1]
    assert await db.applied.count_documents({}) == 2


async def _count(db: Database[dict[str, Any]], expected: int) -> bool:
    return bool(await db.applied.count_documents({}) == expected)


async def _true(value: bool) -> bool:
    return value


async def test_stopping_hands_fetched_batches_back_at_once(
    js: JetStreamContext, nc: Client, storage: Storage
) -> None:
    """Batches fetched (and prepared) ahead but not applied are nak'ed on stop, so another
    consumer gets them at once, not after `ack_wait`."""
    service = f"svc{uuid.uuid4().hex[:6]}"
    tenant = f"s-{uuid.uuid4().hex[:6]}"
    hang = asyncio.Event()
    first: list[list[int]] = []
    prepared: list[list[int]] = []

    async def stuck(
        db: Database[dict[str, Any]], envelopes: Sequence[Envelope[Batched]], durable: str
    ) -> dict[str, str]:
        first.append([e.data.n for e in envelopes if e.tenant == tenant])
        await hang.wait()  # the first batch never finishes
        return {}

    async def prepare(db: Database[dict[str, Any]], envelopes: Sequence[Envelope[Batched]]) -> None:
        prepared.append([e.data.n for e in envelopes if e.tenant == tenant])

    def consumer(apply: Any) -> BatchConsumer[Batched]:
        return subscribe_batch(
            consumer_service=service,
            event_cls=Batched,
            apply=apply,
            storage=storage,
            js=lambda: js,
            batch_size=5,
            batch_timeout=0.2,
            use_inbox=False,
            prepare=prepare,
            ack_wait_seconds=30,
        )

    stopping = consumer(stuck)
    stopping.start(js, nc)
    for n in range(15):
        await publish(js, new_event(Batched(n=n), tenant=tenant, subject="s"))
    assert await wait_for(lambda: _true(bool(first) and len(prepared) >= 2)) is True
    await stopping.stop(grace_seconds=0.5)

    seen: set[int] = set()

    async def record(
        db: Database[dict[str, Any]], envelopes: Sequence[Envelope[Batched]], durable: str
    ) -> dict[str, str]:
        seen.update(e.data.n for e in envelopes if e.tenant == tenant)
        return {}

    taking_over = consumer(record)
    taking_over.start(js, nc)
    try:
        hung = set(first[0])
        # Everything but the batch that hung arrives well within ack_wait (30 s).
        assert await wait_for(lambda: _true(seen >= set(range(15)) - hung), timeout=10.0) is True
    finally:
        hang.set()
        await taking_over.stop()


async def test_a_traced_batch_is_one_span_linked_to_every_message_trace(
    js: JetStreamContext, nc: Client, storage: Storage, span_capture: Any
) -> None:
    service = f"svc{uuid.uuid4().hex[:6]}"
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    seen_traceparents: list[str | None] = []

    async def apply(
        db: Database[dict[str, Any]], envelopes: Sequence[Envelope[Batched]], durable: str
    ) -> dict[str, str]:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # what the outbox stores with the events the batch stages
        seen_traceparents.append(carrier.get("traceparent"))
        return {}

    consumer: BatchConsumer[Batched] = subscribe_batch(
        consumer_service=service,
        event_cls=Batched,
        apply=apply,
        storage=storage,
        js=lambda: js,
        batch_size=50,
        batch_timeout=0.2,
        trace_batches=True,
    )
    trace_ids = [f"{i + 1:032x}" for i in range(3)]
    for trace_id in trace_ids:
        envelope = new_event(Batched(n=1), tenant=tenant, subject="s")
        await js.publish(
            envelope.nats_subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id, "traceparent": f"00-{trace_id}-{'1' * 16}-01"},
        )
    consumer.start(js, nc)

    async def linked() -> set[str]:  # earlier tests' messages come in batches of their own
        spans = await _batch_spans(span_capture, service)
        found = {format(link.context.trace_id, "032x") for s in spans for link in s.links}
        return found if found >= set(trace_ids) else set()

    try:
        assert await wait_for(linked) == set(trace_ids)
    finally:
        await consumer.stop()
    own = {format(s.context.trace_id, "032x") for s in await _batch_spans(span_capture, service)}
    assert seen_traceparents and all(
        tp is not None and tp.split("-")[1] in own for tp in seen_traceparents
    )


async def _batch_spans(capture: Any, service: str) -> list[Any]:
    return [
        s
        for s in capture.get_finished_spans()
        if s.name.startswith(f"{service}__") and s.name.endswith("process batch")
    ]
