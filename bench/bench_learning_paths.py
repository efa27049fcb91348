"""Learning paths benchmarks (issue 12): print figures, assert nothing, bounded in time.

    .venv/bin/python bench/bench_learning_paths.py                       # defaults
    .venv/bin/python bench/bench_learning_paths.py --stored 1000000      # the 1M data set

The service runs as a real uvicorn process on its own embedded NATS and database.
1. raw ceiling: motor `insert_many` of statement-shaped documents (500 per call, no
   secondary index) on the same database in the same run, before and after (2);
2. statement ingestion: POST /xapi/statements in batches of 50 from a few concurrent
   clients, statements/s; the ratio to (1); then every batch is sent again with the same
   statement ids: the count of stored statements must not change (0 duplicates);
3. GET /xapi/statements filtered by agent and activity with `--stored` statements in the
   LRS (written straight into its collection in the LRS's own layout, `adapters/lrs.py`
   `document_of`, since a million through HTTP takes too long): p50/p95/p99 over HTTP;
4. placement: response_submitted + measurement_recorded pairs published at 100/s; the time
   from the measurement's publication until its `path_placed` event arrives (staged in the
   transaction that stores the placement, so it is visible to the resident by then).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
from _service import cpu_seconds, database_pid, serve_jwks, start_service, stop_service
from _stack import Stack, embedded_stack, latency_summary, percentile, row
from learning_paths.adapters.lrs import CLOCK, LRS_INDEXES, STATEMENTS, document_of, seq_time
from learning_paths.domain.xapi import statements as xapi
from learning_paths.domain.xapi.formats import format_timestamp
from motor.motor_asyncio import AsyncIOMotorClient
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import new_event, new_event_id
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.storage import Storage
from wijkkracht_common.testing.issuer import TestIssuer

P = "/learning-paths/v1"
TENANT = "bench"
ISSUER = "http://identity.bench/identity/v1"
ORG = "welzijn-bench"
V = {"X-Experience-API-Version": "2.0.0"}


def statement(
    n: int, rng: random.Random, agents: int = 1000, activities: int = 200
) -> dict[str, Any]:
    """A statement as a learning app sends it (actor, verb, activity with a definition,
    result, context with a registration)."""
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor": {
            "objectType": "Agent",
            "mbox": f"mailto:learner{rng.randrange(agents)}@example.org",
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en": "completed"}},
        "object": {
            "objectType": "Activity",
            "id": f"http://example.org/activities/{rng.randrange(activities)}",
            "definition": {
                "name": {"nl": "Stap"},
                "type": "http://adlnet.gov/expapi/activities/lesson",
            },
        },
        "result": {"score": {"scaled": round(rng.random(), 2)}, "completion": True},
        "context": {"registration": str(uuid.uuid4()), "platform": "bench"},
        "timestamp": datetime.now(UTC).isoformat(),
    }


async def raw_insert_many(
    mongo_url: str, rng: random.Random, docs: int, db_pid: int | None = None
) -> tuple[float, float | None]:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(mongo_url)
    db = client[f"wk_raw_{uuid.uuid4().hex[:6]}"]
    batch = [
        document_of(
            xapi.complete(
                s, statement_id=s["id"], stored=format_timestamp(datetime.now(UTC)), authority={}
            ),
            n,
            ISSUER,
        )
        for n, s in enumerate(statement(i, rng) for i in range(docs))
    ]
    cpu = cpu_seconds(db_pid) if db_pid else 0.0
    start = time.perf_counter()
    for offset in range(0, docs, 500):
        await db.raw.insert_many(batch[offset : offset + 500])
    rate = docs / (time.perf_counter() - start)
    db_cpu = (cpu_seconds(db_pid) - cpu) / docs if db_pid else None
    await client.drop_database(db.name)
    client.close()
    return rate, db_cpu


async def ingest(
    base: str, headers: dict[str, str], batches: list[list[dict[str, Any]]], concurrency: int
) -> float:
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                batch = queue.get_nowait()
                r = await client.post(f"{P}/xapi/statements", json=batch, headers=headers)
                r.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return sum(len(b) for b in batches) / elapsed


async def idle_cpu(pid: int, db_pid: int | None, seconds: float) -> tuple[float, float]:
    """CPU seconds per second of the idle service and database."""
    service, db = cpu_seconds(pid), cpu_seconds(db_pid) if db_pid else 0.0
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    db_rate = (cpu_seconds(db_pid) - db) / elapsed if db_pid else 0.0
    return (cpu_seconds(pid) - service) / elapsed, db_rate


async def count_statements(mongo_url: str) -> int:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        mongo_url, socketTimeoutMS=600_000, timeoutMS=600_000
    )
    n = await client[f"wk_learning_paths_{TENANT}"][STATEMENTS].count_documents({})
    client.close()
    return int(n)


async def fill(mongo_url: str, total: int, rng: random.Random) -> float:
    """`total` statements straight into the LRS collection in its own layout."""
    storage = Storage(mongo_url, "learning_paths", LRS_INDEXES)
    db = await storage.tenant_db(TENANT)
    start = time.perf_counter()
    stored_now = 0
    while stored_now < total:
        size = min(2000, total - stored_now)
        seqs = CLOCK.take(size)
        docs = []
        for seq in seqs:
            s = statement(0, rng)
            done = xapi.complete(
                s,
                statement_id=s["id"],
                stored=format_timestamp(seq_time(seq)),
                authority={"objectType": "Agent", "account": {"homePage": ISSUER, "name": "x"}},
            )
            docs.append(document_of(done, seq, ISSUER))
        await db[STATEMENTS].insert_many(docs)
        stored_now += size
        if stored_now % 100_000 == 0:
            print(f"    … {stored_now} stored", flush=True)
    storage.close()
    return total / (time.perf_counter() - start)


async def query_latency(
    base: str, headers: dict[str, str], n: int, rng: random.Random
) -> list[float]:
    timings = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for _ in range(n):
            params = {
                "agent": json.dumps({"mbox": f"mailto:learner{rng.randrange(1000)}@example.org"}),
                "activity": f"http://example.org/activities/{rng.randrange(200)}",
                "limit": "50",
            }
            start = time.perf_counter()
            r = await client.get(f"{P}/xapi/statements", params=params, headers=headers)
            r.raise_for_status()
            timings.append(time.perf_counter() - start)
    return timings


async def placement_latency(
    stack: Stack, base: str, issuer: TestIssuer, rate: float, count: int
) -> list[float]:
    editor = issuer.headers(
        sub="editor", tenant=TENANT, orgs={ORG: ["content_editor", "tenant_admin"]}
    )
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        path = "\n".join(
            [
                "---",
                "title: P",
                "entry_points:",
                "  - {key: start, item: 1}",
                "  - {key: aware, item: 2}",
                "---",
                "",
                "---\nid: p1\nkind: text\ntitle: Een\n---\nx\n",
                "---\nid: p2\nkind: text\ntitle: Twee\n---\ny",
            ]
        )
        made = await client.post(
            f"{P}/paths",
            json={"organisation": ORG, "slug": "pad", "scope": "tenant", "sources": {"nl": path}},
            headers=editor,
        )
        made.raise_for_status()
        path_id = made.json()["id"]
        (await client.post(f"{P}/paths/{path_id}/publish", headers=editor)).raise_for_status()
        rules = [
            {
                "id": f"r{phase}",
                "family": "effect-monitor",
                "theme": "household_budget",
                "phase_min": phase,
                "phase_max": phase,
                "path_id": path_id,
                "entry_point": "start" if phase == 1 else "aware",
            }
            for phase in range(1, 6)
        ]
        (
            await client.put(f"{P}/placement-rules", json={"rules": rules}, headers=editor)
        ).raise_for_status()
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    async def on_placed(msg: Any) -> None:
        data = json.loads(msg.data)["data"]
        started = sent.pop(data["measurement_id"], None)  # the first placement per measurement
        if started is not None:
            latencies.append(time.perf_counter() - started)
            if len(latencies) >= count:
                done.set()

    sub = await nc.subscribe(f"wk.{TENANT}.learning_paths.path_placed.v1", cb=on_placed)
    interval = 1.0 / rate
    start = time.perf_counter()
    for n in range(count):
        person = str(uuid.uuid4())
        response_id = new_event_id()
        response = new_event(
            ResponseSubmitted(
                response_id=response_id,
                person_id=person,
                instrument_id="effect-monitor",
                family="effect-monitor",
                variant="standard",
                version=1,
                purpose="measurement",
                submitted_at=datetime.now(UTC),
                dimension_scores={},
                phases={"household_budget": 1 + n % 5},
            ),
            tenant=TENANT,
            subject=response_id,
        )
        await js.publish(response.nats_subject, response.model_dump_json().encode())
        measurement_id = new_event_id()
        measurement = new_event(
            MeasurementRecorded(
                measurement_id=measurement_id,
                response_id=response_id,
                person_id=person,
                trajectory_id=new_event_id(),
                family="effect-monitor",
                sequence=0,
                recorded_at=datetime.now(UTC),
            ),
            tenant=TENANT,
            subject=measurement_id,
        )
        sent[measurement_id] = time.perf_counter()
        await js.publish(measurement.nats_subject, measurement.model_dump_json().encode())
        pause = start + (n + 1) * interval - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
    try:
        await asyncio.wait_for(done.wait(), timeout=120)
    except TimeoutError:
        print(f"    only {len(latencies)} of {count} placements seen", flush=True)
    await sub.unsubscribe()
    await nc.drain()
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=30_000, help="ingested over HTTP")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="clients posting at once (each waits for its answer: with few of them the rate "
        "is bound by round trips, not by the service; 4 gave 1,717/s, 16 2,880/s, 32 3,589/s)",
    )
    parser.add_argument("--stored", type=int, default=200_000, help="statements for the query")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--placements", type=int, default=1000)
    parser.add_argument(
        "--only",
        choices=["ingestion", "query", "placement"],
        action="append",
        help="run only these parts (repeatable; ingestion always runs: it fills the LRS)",
    )
    parser.add_argument("--profile", help="run the service under cProfile, stats to this file")
    parser.add_argument("--idle-seconds", type=float, default=15.0, help="idle CPU sample")
    args = parser.parse_args()
    parts = set(args.only or ["ingestion", "query", "placement"])
    # A stop signal ends the run through its `finally`s: the service and the embedded
    # servers are stopped, nothing is left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rng = random.Random(12)
    issuer = TestIssuer(ISSUER)
    jwks_server, jwks_url = serve_jwks(issuer)
    client_headers = {
        **issuer.headers(sub="client:bench", tenant=TENANT, orgs={ORG: ["service"]}),
        **V,
    }
    print("learning paths benchmarks", flush=True)
    with embedded_stack() as stack:
        db_pid = database_pid(stack.mongo_url)
        raw_before, raw_cpu_before = await raw_insert_many(stack.mongo_url, rng, 20_000, db_pid)
        process, base = await start_service(
            stack,
            "learning_paths.main:create_app",
            ISSUER,
            jwks_url,
            env={"WK_SOCIAL_MAP_URL": ""},
            profile=args.profile,
        )
        try:
            statements = [statement(i, rng) for i in range(args.statements)]
            batches = [
                statements[i : i + args.batch] for i in range(0, len(statements), args.batch)
            ]
            await ingest(base, client_headers, batches[:4], 1)  # warm-up: definitions, indexes
            # What the idle service (relay passes, consumers' pulls) and database cost per
            # second: a slow run on a busy machine would otherwise charge it to statements.
            idle_service, idle_db = await idle_cpu(process.pid, db_pid, args.idle_seconds)
            cpu_service = cpu_seconds(process.pid)
            cpu_db = cpu_seconds(db_pid) if db_pid else 0.0
            started = time.perf_counter()
            rate = await ingest(base, client_headers, batches[4:], args.concurrency)
            elapsed = time.perf_counter() - started
            sent = sum(len(b) for b in batches[4:])
            service_cpu = (cpu_seconds(process.pid) - cpu_service - idle_service * elapsed) / sent
            ingest_db_cpu = (
                (cpu_seconds(db_pid) - cpu_db - idle_db * elapsed) / sent if db_pid else None
            )
            raw_after, raw_cpu_after = await raw_insert_many(stack.mongo_url, rng, 20_000, db_pid)
            raw = statistics.fmean([raw_before, raw_after])
            stored = await count_statements(stack.mongo_url)
            await ingest(base, client_headers, batches, args.concurrency)  # every id again
            again = await count_statements(stack.mongo_url)
            print(
                f"statement ingestion (POST, batches of {args.batch}, {args.concurrency} clients)"
            )
            row(
                "raw insert_many, same database (before/after)",
                f"{raw_before:,.0f} / {raw_after:,.0f} docs/s",
            )
            row("ingestion", f"{rate:,.0f} statements/s", "target ≥ 3,000/s")
            row("ratio to raw insert_many", f"{rate / raw:.0%}", "target ≥ 40 %")
            row(
                "idle CPU: service / database",
                f"{idle_service:.0%} / {idle_db:.0%} of a core",
                "subtracted below",
            )
            row("CPU per statement: service", f"{service_cpu * 1e6:.0f} µs")
            if ingest_db_cpu is not None and raw_cpu_before and raw_cpu_after:
                raw_cpu = statistics.fmean([raw_cpu_before, raw_cpu_after])
                row(
                    "CPU per statement: database (raw insert_many)",
                    f"{ingest_db_cpu * 1e6:.0f} µs ({raw_cpu * 1e6:.0f} µs)",
                )
                row(
                    "ratio by CPU: raw ÷ (database + service)",
                    f"{raw_cpu / (ingest_db_cpu + service_cpu):.0%}",
                    "load-independent",
                )
            row("re-sent statement ids: duplicates", f"{again - stored}", "target 0")

            if "query" in parts:
                await query_part(args, stack, base, client_headers, again, rng)
            if "placement" in parts:
                await placement_part(args, stack, base, issuer)
        finally:
            stop_service(process, profiled=bool(args.profile))
            jwks_server.shutdown()


async def query_part(
    args: argparse.Namespace,
    stack: Stack,
    base: str,
    client_headers: dict[str, str],
    again: int,
    rng: random.Random,
) -> None:
    fill_rate = await fill(stack.mongo_url, max(0, args.stored - again), rng)
    total = max(args.stored, again)
    timings = await query_latency(base, client_headers, args.queries, rng)
    print(f"GET statements by agent and activity ({total:,} statements stored)")
    row("fill rate (LRS layout, insert_many)", f"{fill_rate:,.0f} docs/s")
    row("query latency", latency_summary(timings), "target p95 < 50 ms")


async def placement_part(
    args: argparse.Namespace, stack: Stack, base: str, issuer: TestIssuer
) -> None:
    latencies = await placement_latency(stack, base, issuer, 100.0, args.placements)
    print("placement after a measurement (100 measurements/s)")
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    row(
        "measurement published → path_placed",
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms (n={len(latencies)})",
        "target p99 < 1 s",
    )


if __name__ == "__main__":
    asyncio.run(main())
