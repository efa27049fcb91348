"""Effect measurement as two replicas (issue 11): the same answers as one process.

Processes started like the launcher starts them (`uvicorn --factory ...`), on one NATS and
one embedded database (the session's servers). The same `response_submitted` events are
ingested by one process (tenant of the reference run), by two replicas, and by two replicas
of which one is killed (SIGKILL) mid-load; each run in its own tenant, so each has its own
database. Required, against the reference:

- aggregates: every aggregate and persona cell, counter by counter;
- trajectories: each trajectory's measurements (with everything stored about them) in time
  order, each trajectory's sequences a permutation of 0..n-1;
- outputs: exactly one `measurement_recorded` per measurement (nothing lost, nothing applied
  twice), naming the same trajectory, and no outbox record left behind.

A measurement's `sequence` is its position in its trajectory *when it arrived* (documented in
`service/ingest_plan.py`): a batch redelivered after a crash may arrive after later ones, so
the sequences of one trajectory are compared as a set, its order by submission time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from effect_measurement.adapters.documents import (
    cell_from_document,
    persona_from_document,
    stored_from_document,
)
from effect_measurement.adapters.schema import CELLS, MEASUREMENTS, PERSONA
from effect_measurement.demo import generator
from effect_measurement.demo_seed import demo_response
from effect_measurement.domain.accumulator import Accumulator, apply_deltas
from effect_measurement.domain.aggregates import person_cells
from effect_measurement.domain.persona import persona_cells
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError
from wijkkracht_common.embedded import free_port
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import ensure_consumer, ensure_streams, stream_name
from wijkkracht_common.outbox import OUTBOX
from wijkkracht_common.partitions import partition_filters
from wijkkracht_common.storage import Storage
from wijkkracht_common.testing.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 2400  # bounded: this runs in `make test` on a busy machine
BATCH = 150  # small batches, so both replicas take many of them
PARTITIONS = 4
LEASE_SECONDS = 3.0
DURABLE = "effect_measurement__questionnaires_response_submitted_v1"
LEASES = f"WK_LEASES_{DURABLE}__of{PARTITIONS}"
# Stored per measurement but not part of the answer: which event carried it (new ids per run).
VOLATILE = {"event_id", "sequence", "followup_pending"}


def response_events(tenant: str) -> list[Envelope[ResponseSubmitted]]:
    """The same responses for every tenant, in the order they would arrive live: a
    resident's follow-up comes ~1,000 events after their previous measurement."""
    residents: dict[str, list[Any]] = defaultdict(list)
    for stored in generator.stream_measurements(EVENTS, seed=11):
        residents[stored.measurement.person_id or ""].append(stored)
    slots = sorted(
        (number + seq * 1000, number, seq, stored)
        for number, measurements in enumerate(residents.values())
        for seq, stored in enumerate(measurements)
    )
    start = datetime(2026, 1, 5, tzinfo=UTC)
    return [
        demo_response(stored.measurement, tenant, submitted_at=start + timedelta(hours=index))
        for index, (_, _, _, stored) in enumerate(slots)
    ]


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    id: str  # its WK_REPLICA_ID: the value of the partition keys it holds

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def start_replica(nats_url: str, mongo_url: str, logs: Path) -> Replica:
    port = free_port()
    log = logs / f"effect_measurement-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WK_")}
    env |= {
        "WK_ENV": "test",
        "WK_NATS_URL": nats_url,
        "WK_MONGO_URL": mongo_url,
        "WK_HTTP_PORT": str(port),
        "WK_RUN_SCHEDULER": "false",
        "WK_INGEST_BATCH_SIZE": str(BATCH),
        "WK_INGEST_PARTITIONS": str(PARTITIONS),
        # Short leases: a killed replica's partitions move within seconds.
        "WK_PARTITION_LEASE_SECONDS": str(LEASE_SECONDS),
        "WK_REPLICA_ID": f"replica-{port}",
        "WK_LOG_LEVEL": "WARNING",
        "WK_LOG_JSON": "true",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "effect_measurement.main:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Replica(process, f"http://127.0.0.1:{port}", log, f"replica-{port}")


async def wait_ready(replica: Replica) -> None:
    async def ready() -> bool:
        assert replica.process.poll() is None, replica.tail()
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                return (await client.get(f"{replica.url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(ready, timeout=120, interval=0.3)


async def stop(replica: Replica) -> None:
    """Graceful stop (SIGTERM, as an orchestrator does): the batch being applied finishes."""
    if replica.process.poll() is None:
        replica.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(replica.process.wait, 60)
        except subprocess.TimeoutExpired:
            replica.process.kill()
            raise AssertionError("replica did not stop within 60 s:\n" + replica.tail()) from None


@dataclass
class Stack:
    nats_url: str
    mongo_url: str
    js: JetStreamContext
    storage: Storage
    logs: Path


@pytest.fixture(scope="module")
async def stack(
    nats_url: str, mongo_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    # The partitions' durables read from now on: the stream also holds the responses of
    # earlier tests in this session, which a new durable would otherwise replay first.
    for index in range(PARTITIONS):
        await ensure_consumer(
            js,
            stream_name("questionnaires"),
            ConsumerConfig(
                durable_name=f"{DURABLE}__p{index}of{PARTITIONS}",
                deliver_policy=DeliverPolicy.NEW,
                ack_wait=30,
                max_deliver=8,
                max_ack_pending=1000,
                filter_subjects=partition_filters(ResponseSubmitted, PARTITIONS, index),
            ),
        )
    storage = Storage(mongo_url, "effect_measurement")
    made = Stack(nats_url, mongo_url, js, storage, tmp_path_factory.mktemp("replicas"))
    yield made
    for tenant in await storage.tenants(max_age_seconds=0):
        if tenant.startswith("rep-"):
            await storage.drop_tenant(tenant)
    storage.close()
    await nc.drain()


def recorded_subject(tenant: str) -> str:
    return f"wk.{tenant}.effect_measurement.measurement_recorded.v1"


async def recorded(js: JetStreamContext, tenant: str) -> list[dict[str, Any]]:
    """Every `measurement_recorded` of the tenant on the stream."""
    subject = recorded_subject(tenant)
    info = await js.stream_info(stream_name("effect_measurement"), subjects_filter=subject)
    expected = (info.state.subjects or {}).get(subject, 0)
    sub = await js.pull_subscribe(subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    messages: list[dict[str, Any]] = []
    try:
        while len(messages) < expected:
            batch = await sub.fetch(min(500, expected - len(messages)), timeout=10)
            messages += [json.loads(m.data) for m in batch]
            for m in batch:
                await m.ack()
    finally:
        await sub.unsubscribe()
    return messages


async def settled(stack: Stack, tenant: str) -> bool:
    """Every event stored and its `measurement_recorded` published (the last write of a
    batch is its outbox record; the relay deletes it once published)."""
    # Polled gently while replicas run: `count_documents` is an aggregation (a scan on
    # nx-27017) on the connection the replicas' transactions use; these are cheap reads.
    db = await stack.storage.tenant_db(tenant)
    if await db[MEASUREMENTS].estimated_document_count() < EVENTS:
        return False
    if await db[OUTBOX].find_one({}, {"_id": 1}) is not None:
        return False
    subject = recorded_subject(tenant)
    info = await stack.js.stream_info(stream_name("effect_measurement"), subjects_filter=subject)
    return (info.state.subjects or {}).get(subject, 0) >= EVENTS


async def publish(js: JetStreamContext, events: list[Envelope[ResponseSubmitted]]) -> None:
    for start in range(0, len(events), 100):
        await asyncio.gather(
            *(
                js.publish(
                    e.nats_subject,
                    e.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": e.id},
                    timeout=60,  # a busy machine
                )
                for e in events[start : start + 100]
            )
        )


def _without_tenant(value: Any, tenant: str) -> Any:
    if isinstance(value, dict):
        return {_without_tenant(k, tenant): _without_tenant(v, tenant) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_tenant(v, tenant) for v in value]
    if isinstance(value, str):
        return value.replace(tenant, "<tenant>")
    return value


@dataclass
class Answer:
    """Everything a run produced, tenant-neutral."""

    cells: dict[str, Accumulator]
    persona: dict[str, Accumulator]
    trajectories: dict[str, list[dict[str, Any]]]
    sequences: dict[str, list[int]]
    outputs: list[tuple[str, str]]  # (measurement id, trajectory id) per event on the stream
    output_sequences: dict[str, list[int]]
    outbox_left: int
    off_spec: list[str]  # projection cells that differ from the domain's sum over persons


def _nonzero(found: Any) -> dict[Any, Accumulator]:
    return {pair[0]: pair[1] for pair in found if pair is not None and not pair[1].is_zero()}


async def off_spec(db: Any, tenant: str) -> list[str]:
    """Cells (aggregate and persona) that differ from what the domain's general path derives
    from the stored measurements alone: the projection must equal its sum over persons,
    whatever the order and batches the measurements came in."""
    by_person: dict[str, list[Any]] = defaultdict(list)
    async for doc in db[MEASUREMENTS].find({}):
        by_person[doc["person_id"]].append(stored_from_document(doc))
    cells: dict[Any, Accumulator] = {}
    persona: dict[Any, Accumulator] = {}
    for stored in by_person.values():
        cells = apply_deltas(cells, person_cells(tenant, stored))
        persona = apply_deltas(persona, persona_cells(tenant, stored, []))
    stored_cells = _nonzero([cell_from_document(tenant, d) async for d in db[CELLS].find({})])
    stored_persona = _nonzero(
        [persona_from_document(tenant, d) async for d in db[PERSONA].find({})]
    )
    return [
        f"{key}: stored {stored.get(key)}, expected {expected.get(key)}"
        for stored, expected in (
            (stored_cells, _nonzero(cells.items())),
            (stored_persona, _nonzero(persona.items())),
        )
        for key in stored.keys() | expected.keys()
        if stored.get(key) != expected.get(key)
    ]


async def answer(stack: Stack, tenant: str) -> Answer:
    db = await stack.storage.tenant_db(tenant)
    # Cells as the service reads them. Stored, a cell a batch moved and a later one moved
    # back keeps zero counters (or is all zero): where those are depends on how the events
    # were batched, not on the answer.
    cells: dict[str, Accumulator] = {}
    persona: dict[str, Accumulator] = {}
    for collection, decode, into in (
        (CELLS, cell_from_document, cells),
        (PERSONA, persona_from_document, persona),
    ):
        async for doc in db[collection].find({}):
            found = decode(tenant, doc)  # type: ignore[operator]
            if found is not None and not found[1].is_zero():
                into[str(doc["_id"]).replace(tenant, "<tenant>")] = found[1]
    trajectories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    sequences: dict[str, list[int]] = defaultdict(list)
    async for doc in db[MEASUREMENTS].find({}):
        trajectories[doc["trajectory_id"]].append(
            {k: v for k, v in doc.items() if k not in VOLATILE}
        )
        sequences[doc["trajectory_id"]].append(doc["sequence"])
    for points in trajectories.values():
        points.sort(key=lambda d: (d["submitted_at"], d["_id"]))
    outputs = []
    output_sequences: dict[str, list[int]] = defaultdict(list)
    for event in await recorded(stack.js, tenant):
        data = event["data"]
        outputs.append((data["measurement_id"], data["trajectory_id"]))
        output_sequences[data["trajectory_id"]].append(data["sequence"])
    return Answer(
        cells,
        persona,
        _without_tenant(dict(trajectories), tenant),
        {t: sorted(s) for t, s in _without_tenant(dict(sequences), tenant).items()},
        sorted(_without_tenant(outputs, tenant)),
        {t: sorted(s) for t, s in _without_tenant(dict(output_sequences), tenant).items()},
        await db[OUTBOX].count_documents({}),
        await off_spec(db, tenant),
    )


def differing(reference: dict[str, Any], other: dict[str, Any]) -> list[str]:
    return sorted(k for k in reference.keys() | other.keys() if reference.get(k) != other.get(k))


def assert_same(reference: Answer, other: Answer) -> None:
    assert not reference.off_spec, (
        f"one process: {len(reference.off_spec)} cells off: {reference.off_spec[:3]}"
    )
    assert not other.off_spec, f"{len(other.off_spec)} cells off: {other.off_spec[:3]}"
    assert other.outbox_left == 0
    assert len(other.outputs) == len(set(other.outputs)), "a measurement recorded twice"
    assert len(reference.outputs) == EVENTS
    assert other.outputs == reference.outputs
    for name in ("trajectories", "cells", "persona"):
        diff = differing(getattr(reference, name), getattr(other, name))
        assert not diff, f"{len(diff)} {name} differ, e.g. {diff[:3]}"
    # The reference too: a batch planned against a history that lacked a measurement gave
    # the next one a sequence already taken, beside the cells off.
    for run in (reference, other):
        for sequences in (run.sequences, run.output_sequences):
            assert sequences.keys() == reference.trajectories.keys()
            assert all(s == list(range(len(s))) for s in sequences.values())


@dataclass
class Run:
    answer: Answer
    seconds: float  # from the first event published until all were stored and published
    #: Per replica (by pid): the partitions it held while the events were applied, and, with
    #: one replica killed, what the survivor held afterwards.
    held: dict[str, set[int]]
    survivor_held: set[int] | None = None


async def owners(js: JetStreamContext) -> dict[int, str]:
    """Partition → the replica id holding its lease (`wijkkracht_common.partitions`)."""
    kv = await js.key_value(LEASES)
    held: dict[int, str] = {}
    for partition in range(PARTITIONS):
        try:
            entry = await kv.get(f"partition.{partition}")
        except KeyNotFoundError:
            continue
        if entry.value:
            held[partition] = entry.value.decode()
    return held


def by_replica(held: dict[int, str], running: list[Replica]) -> dict[str, set[int]]:
    """The partitions each running replica holds."""
    return {r.id: {p for p, owner in held.items() if owner == r.id} for r in running}


async def spread(stack: Stack, running: list[Replica]) -> dict[str, set[int]]:
    """Wait until every partition is held and each replica holds its share."""

    async def balanced() -> dict[str, set[int]] | None:
        shares = by_replica(await owners(stack.js), running)
        if sum(len(s) for s in shares.values()) != PARTITIONS:
            return None
        return (
            shares if all(len(s) == PARTITIONS // len(running) for s in shares.values()) else None
        )

    shares = await eventually(balanced, timeout=120, interval=0.2)
    assert shares is not None
    return shares


async def ingest(stack: Stack, replicas: int, *, kill_one_at: int | None = None) -> Run:
    """Start `replicas` processes, publish the events of a new tenant, wait until settled
    (killing the first replica with SIGKILL once `kill_one_at` measurements are stored),
    stop the rest gracefully and read the answer."""
    tenant = f"rep-{uuid.uuid4().hex[:6]}"
    events = response_events(tenant)
    running = [start_replica(stack.nats_url, stack.mongo_url, stack.logs) for _ in range(replicas)]
    try:
        for replica in running:
            await wait_ready(replica)
        held = await spread(stack, running)  # each replica pulls its own partitions
        db = await stack.storage.tenant_db(tenant)
        started = time.perf_counter()
        await publish(stack.js, events)
        survivor_held: set[int] | None = None
        if kill_one_at is not None:

            async def under_way() -> bool:
                return await db[MEASUREMENTS].estimated_document_count() >= kill_one_at

            await eventually(under_way, timeout=120, interval=0.1)
            victim = running.pop(0)
            victim.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(victim.process.wait)
            # Its leases expire and the survivor takes its partitions.
            survivor_held = (await spread(stack, running))[running[0].id]

        async def done() -> bool:
            for replica in running:
                assert replica.process.poll() is None, replica.tail()
            return await settled(stack, tenant)

        await eventually(done, timeout=240, interval=0.5)
        seconds = time.perf_counter() - started
    finally:
        for replica in running:
            await stop(replica)
    print(f"\n{replicas} replica(s){' (one killed)' if kill_one_at else ''}: {seconds:.1f} s")
    return Run(await answer(stack, tenant), seconds, held, survivor_held)


@pytest.fixture(scope="module")
async def reference(stack: Stack) -> Run:
    return await ingest(stack, 1)


async def test_two_replicas_give_the_answers_of_one_process(stack: Stack, reference: Run) -> None:
    two = await ingest(stack, 2)
    print(f"one process {reference.seconds:.1f} s, two replicas {two.seconds:.1f} s")
    assert_same(reference.answer, two.answer)
    # Each replica pulled half of the partitions (by person), none of the other's.
    first, second = two.held.values()
    assert len(first) == len(second) == PARTITIONS // 2 and first.isdisjoint(second)


async def test_a_replica_killed_mid_load_loses_nothing_and_applies_nothing_twice(
    stack: Stack, reference: Run
) -> None:
    killed = await ingest(stack, 2, kill_one_at=EVENTS // 3)
    assert_same(reference.answer, killed.answer)
    # The killed replica's partitions moved to the survivor.
    assert killed.survivor_held == set(range(PARTITIONS))
