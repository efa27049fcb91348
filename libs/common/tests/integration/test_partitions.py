"""Partitioned consumers on a real JetStream server: leases in NATS KV split the partitions
between replicas, a killed replica's partitions move to the survivor once its lease expires,
a replica that leaves hands them over at once, a broker outage stops a replica's partitions
and they come back after it, each person's events reach one replica in order, and a durable
made before its event became partitioned is given the new filter."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import nats
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from wijkkracht_common.batch_consumer import (
    BatchConsumer,
    PartitionedBatchConsumer,
    subscribe_batch,
    subscribe_partitioned,
)
from wijkkracht_common.embedded import free_port, start_nats
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.messaging import (
    Delivery,
    durable_name,
    ensure_consumer,
    ensure_declared,
    stream_for,
    subscribe,
)
from wijkkracht_common.observability import ServiceMetrics
from wijkkracht_common.partitions import PartitionLeases
from wijkkracht_common.storage import Database, Storage
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

LEASE = 4.0  # seconds: short, so the expiry of a killed replica's leases is quick to see
#: Where no lease may lapse (a busy machine must not make a person's events change replica).
STEADY_LEASE = 20.0


class Step(EventData):
    producer: ClassVar[str] = "questionnaires"
    event_name: ClassVar[str] = "partitioned_step_test"
    partition_by: ClassVar[tuple[str, ...]] = ("person_id",)
    person_id: str
    n: int


class Replica:
    """Records which partitions it runs (the `on_acquire`/`on_release` of a lease loop)."""

    def __init__(self) -> None:
        self.running: set[int] = set()

    async def acquire(self, partition: int) -> None:
        self.running.add(partition)

    async def release(self, partition: int) -> None:
        self.running.discard(partition)


def leases(group: str, member: str, replica: Replica, count: int = 4) -> PartitionLeases:
    return PartitionLeases(
        group=group,
        count=count,
        member=member,
        lease_seconds=LEASE,
        on_acquire=replica.acquire,
        on_release=replica.release,
    )


async def test_replicas_share_partitions_and_a_killed_ones_move(js: JetStreamContext) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    a, b, c = Replica(), Replica(), Replica()
    la, lb = leases(group, "a", a), leases(group, "b", b)
    await la.start(js)
    assert a.running == {0, 1, 2, 3}  # alone: all of them
    await lb.start(js)

    async def split() -> bool:
        la.nudge()
        lb.nudge()
        await asyncio.sleep(0.05)
        return len(a.running) == 2 and len(b.running) == 2

    await eventually(split, timeout=60)
    assert a.running.isdisjoint(b.running)

    # b is killed: its loop ends without letting anything go (its keys stay until expiry).
    assert lb._task is not None
    lb._task.cancel()
    held_by_b = set(b.running)

    async def moved() -> bool:
        la.nudge()
        await asyncio.sleep(0.05)
        return a.running == {0, 1, 2, 3}

    await eventually(moved, timeout=60)
    assert held_by_b <= a.running

    # c joins and a leaves properly: c holds everything at its next round, no lease wait.
    lc = leases(group, "c", c)
    await lc.start(js)
    await eventually(lambda: _both(la, lc, a, c), timeout=60)
    await la.stop()
    assert a.running == set()

    async def all_c() -> bool:
        lc.nudge()
        await asyncio.sleep(0.05)
        return c.running == {0, 1, 2, 3}

    await eventually(all_c, timeout=30)
    await lc.stop()


async def _both(la: PartitionLeases, lc: PartitionLeases, a: Replica, c: Replica) -> bool:
    la.nudge()
    lc.nudge()
    await asyncio.sleep(0.05)
    return len(a.running) == 2 and len(c.running) == 2


async def test_a_replica_that_cannot_refresh_stops_before_its_lease_expires(
    js: JetStreamContext,
) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    now = [0.0]
    a = Replica()
    la = PartitionLeases(
        group=group,
        count=2,
        member="a",
        lease_seconds=LEASE,
        on_acquire=a.acquire,
        on_release=a.release,
        clock=lambda: now[0],
    )
    await la.start(js)
    assert a.running == {0, 1}
    assert la._task is not None
    la._task.cancel()  # no more rounds: as if NATS stopped answering
    now[0] += LEASE * 0.9  # past the fence (80 % of the lease) since the last refresh
    await la._fence()
    await asyncio.gather(*la._releasing.values())  # its consumers stop in the background
    assert a.running == set() and la.held == {}
    await la.stop()


class Applied:
    """Per replica: the (person, n) it applied, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    async def __call__(
        self, db: Database[dict[str, Any]], envelopes: Sequence[Envelope[Step]], durable: str
    ) -> dict[str, str]:
        self.seen += [(e.data.person_id, e.data.n) for e in envelopes]
        return {}


async def test_each_persons_events_reach_one_replica_in_order(
    js: JetStreamContext, nc: Client, storage: Storage
) -> None:
    service = f"svc{uuid.uuid4().hex[:6]}"
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    persons = [f"p{i}" for i in range(40)]
    replicas = {"r1": Applied(), "r2": Applied()}

    metrics = {member: ServiceMetrics(service) for member in replicas}

    def replica(member: str) -> PartitionedBatchConsumer[Step]:
        def consumer_for(partition: tuple[int, int]) -> BatchConsumer[Step]:
            return subscribe_batch(
                consumer_service=service,
                event_cls=Step,
                apply=replicas[member],
                storage=storage,
                js=lambda: js,
                batch_size=20,
                batch_timeout=0.1,
                use_inbox=False,
                partition=partition,
            )

        return subscribe_partitioned(
            consumer_service=service,
            event_cls=Step,
            count=4,
            consumer_for=consumer_for,
            member=member,
            lease_seconds=STEADY_LEASE,
            metrics=metrics[member],
        )

    first, second = replica("r1"), replica("r2")
    first.start(js, nc)
    await eventually(lambda: _holds(first, 4))
    second.start(js, nc)
    await eventually(lambda: _holds(second, 2), timeout=60)
    await eventually(lambda: _holds(first, 2, exact=True), timeout=60)
    for member in replicas:  # each replica reports what it holds (`wk_partitions_held`)
        gauge = metrics[member].partitions_held.labels(service, durable_name(service, Step))
        assert gauge._value.get() == 2
    try:
        for n in range(5):
            for person in persons:
                envelope = new_event(Step(person_id=person, n=n), tenant=tenant, subject=person)
                await js.publish(envelope.nats_subject, envelope.model_dump_json().encode())

        async def all_applied() -> bool:
            return sum(len(r.seen) for r in replicas.values()) >= len(persons) * 5

        await eventually(all_applied)
        for person in persons:
            where = [m for m, r in replicas.items() if any(p == person for p, _ in r.seen)]
            assert len(where) == 1, f"{person} applied by {where}"
            order = [n for p, n in replicas[where[0]].seen if p == person]
            assert order == [0, 1, 2, 3, 4]
        assert all(r.seen for r in replicas.values())  # both replicas did work
    finally:
        await first.stop(5)
        await second.stop(5)


async def _holds(consumer: PartitionedBatchConsumer[Any], n: int, *, exact: bool = False) -> bool:
    if consumer.leases is not None:
        consumer.leases.nudge()
    await asyncio.sleep(0.05)
    held = len(consumer.running)
    return held == n if exact else held >= n


async def test_an_old_durable_gets_the_partitioned_filter(js: JetStreamContext) -> None:
    """A durable created before its event's subjects gained a slot keeps its old filter (it
    would match nothing new): `ensure_consumer` updates it in place, keeping its position."""
    consumer = f"old{uuid.uuid4().hex[:6]}"
    stream = stream_for(Step.producer).name
    durable = durable_name(consumer, Step)
    legacy = "wk.*.questionnaires.partitioned_step_test.v1"
    await js.add_consumer(
        stream,
        config=ConsumerConfig(
            durable_name=durable, filter_subject=legacy, deliver_policy=DeliverPolicy.ALL
        ),
    )
    await ensure_consumer(
        js,
        stream,
        ConsumerConfig(
            durable_name=durable,
            filter_subject=Step.subject_filter(),
            deliver_policy=DeliverPolicy.ALL,
        ),
    )
    info = await js.consumer_info(stream, durable)
    assert info.config.filter_subject == Step.subject_filter()
    await js.delete_consumer(stream, durable)


async def test_a_broker_outage_stops_the_partitions_and_they_come_back(
    tmp_path: Path,
) -> None:
    """On a NATS server of this test alone: while it is paused no lease can be refreshed, so
    the replica stops its partitions before their leases expire (the rounds time out, the
    fence still runs); once it answers again the replica takes them back."""
    server = start_nats(free_port(), tmp_path / "nats", tmp_path / "nats.log")
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        a = Replica()
        la = PartitionLeases(
            group=f"g{uuid.uuid4().hex[:8]}",
            count=2,
            member="a",
            lease_seconds=LEASE,
            on_acquire=a.acquire,
            on_release=a.release,
        )
        await la.start(nc.jetstream())
        assert a.running == {0, 1}
        os.kill(server.process.pid, signal.SIGSTOP)
        try:

            async def stopped() -> bool:
                return a.running == set()

            await eventually(stopped, timeout=60)
        finally:
            os.kill(server.process.pid, signal.SIGCONT)

        async def back() -> bool:
            la.nudge()
            await asyncio.sleep(0.1)
            return a.running == {0, 1}

        await eventually(back, timeout=90)
        await la.stop()
    finally:
        await nc.close()
        server.stop()


class Renamed(EventData):
    """An event whose subjects gained a slot: `legacy()` publishes it as before."""

    producer: ClassVar[str] = "questionnaires"
    event_name: ClassVar[str] = "renamed_step_test"
    partition_by: ClassVar[tuple[str, ...]] = ("person_id",)
    person_id: str
    n: int


async def _publish(js: JetStreamContext, tenant: str, n: int, *, legacy: bool) -> None:
    envelope = new_event(Renamed(person_id=f"p{n}", n=n), tenant=tenant, subject=f"p{n}")
    subject = Renamed.consumer_filters()[0].replace("*", tenant) if legacy else None
    await js.publish(subject or envelope.nats_subject, envelope.model_dump_json().encode())


async def test_an_upgrade_skips_no_event_published_before_partitioning(
    js: JetStreamContext, nc: Client, storage: Storage, nats_url: str
) -> None:
    """Durables made before the event was partitioned (filtering its old subject) with
    events left on it: after the upgrade, a batch consumer, a partitioned one and a
    single-event (faststream) subscriber get the old events and the new ones."""
    service = f"up{uuid.uuid4().hex[:6]}"
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    stream = stream_for(Renamed.producer).name
    legacy = Renamed.consumer_filters()[0]
    names = {kind: f"{service}{kind}" for kind in ("batch", "single")}
    for consumer in names.values():  # as the old version made them
        await js.add_consumer(
            stream,
            config=ConsumerConfig(
                durable_name=durable_name(consumer, Renamed),
                filter_subject=legacy,
                deliver_policy=DeliverPolicy.ALL,
            ),
        )
    for n in range(3):
        await _publish(js, tenant, n, legacy=True)  # published, not consumed yet
    seen: dict[str, set[int]] = {"batch": set(), "partitioned": set(), "single": set()}

    def recorder(kind: str) -> Any:
        async def apply(
            db: Database[dict[str, Any]], envelopes: Sequence[Envelope[Renamed]], durable: str
        ) -> dict[str, str]:
            seen[kind].update(e.data.n for e in envelopes)
            return {}

        return apply

    common: dict[str, Any] = {"storage": storage, "js": lambda: js, "use_inbox": False}
    batch = subscribe_batch(
        consumer_service=names["batch"], event_cls=Renamed, apply=recorder("batch"), **common
    )
    partitioned = subscribe_partitioned(
        consumer_service=f"{service}part",
        event_cls=Renamed,
        count=2,
        consumer_for=lambda partition: subscribe_batch(
            consumer_service=f"{service}part",
            event_cls=Renamed,
            apply=recorder("partitioned"),
            partition=partition,
            **common,
        ),
        member="m",
        lease_seconds=STEADY_LEASE,
    )
    broker = NatsBroker(nats_url, logger=None)

    async def single(envelope: Envelope[Renamed], delivery: Delivery) -> bool:
        seen["single"].add(envelope.data.n)
        return True

    subscribe(
        broker,
        consumer_service=names["single"],
        event_cls=Renamed,
        handler=single,
        js=lambda: js,
    )
    await broker.connect()
    await ensure_declared(js, broker)  # what the runtime does before the broker starts
    await broker.start()
    batch.start(js, nc)
    partitioned.start(js, nc)
    try:
        for n in range(3, 6):
            await _publish(js, tenant, n, legacy=False)

        async def all_seen() -> bool:
            return all(numbers == set(range(6)) for numbers in seen.values())

        await eventually(all_seen)
    finally:
        await batch.stop(5)
        await partitioned.stop(5)
        await broker.stop()
