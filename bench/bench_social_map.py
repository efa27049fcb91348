"""Social map benchmark: HSDS import of N entries and search latency at that size.

Prints figures, asserts nothing: the raw insert_many rate of the same database (the limit the
import's writes are measured against), import time split into parse/validate and write, the
start-up build of the tenant's in-memory search index as a restarted replica runs it in the
background (time, longest event-loop stall meanwhile, memory of the index by tracemalloc and
the process's RSS), the first search and search p50/p95/p99 after it.
Starts its own embedded NATS + nx-27017 (as the test plugin does) unless WK_NATS_URL /
WK_MONGO_URL are set. Targets: import of 50,000 entries < 60 s,
search p95 < 50 ms (text + filters + radius) on the embedded stack, index memory per
50,000-entry tenant <= 500 MB.

    .venv/bin/python bench/bench_social_map.py [--count 50000] [--queries 300]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from social_map.adapters import repositories as repo
from social_map.adapters.documents import ImportedEntry, entry_document
from social_map.adapters.repositories import INDEXES
from social_map.demo.generator import bench_entries, demo_organisations
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.domain.filters import SearchFilters
from social_map.domain.hsds_interchange import export_json
from social_map.domain.model import SocialMapData
from social_map.domain.taxonomy import default_taxonomy
from social_map.service.context import ServiceContext, system_clock
from social_map.service.interchange import IMPORT_ACTOR, parse_package, write_import
from social_map.service.search import SearchQuery, search
from social_map.service.search_index import SearchIndexes, warmer
from social_map.settings import Settings
from wijkkracht_common.embedded import free_port, start_mongo, start_nats
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Session

TENANT = "bench"
QUERIES = [
    "wandelen",
    "koffie",
    "schulden",
    "taalcafé",
    "bewegen ouderen",
    "digitaal hulp",
    "mantelzorg",
    "samen eten",
    "rouw",
    "vrijwilligerswerk",
]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def raw_insert_rate(ctx: ServiceContext, count: int) -> float:
    """insert_many (1,000 per call) of the same entry documents the import writes, into a
    scratch database of the same server: no transaction, no events. The raw limit."""
    view = await ctx.view("rawinsert")
    db = await ctx.db("rawinsert")
    now = ctx.now()
    docs = [
        entry_document(
            entry,
            owner_slug=None,
            policy=view.policy,
            now=now,
            version=1,
            analyzer=view.analyzer,
            taxonomy=view.taxonomy,
        )
        for entry in bench_entries(count, reference=datetime.now(UTC))
    ]
    start = time.perf_counter()
    for i in range(0, len(docs), 1000):
        await db["raw_entries"].insert_many(docs[i : i + 1000], ordered=False)
    elapsed = time.perf_counter() - start
    await ctx.runtime.storage.drop_tenant("rawinsert")
    return len(docs) / elapsed


def rss_mb() -> float:
    """The process's resident set size now (Linux), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def warm_up_figures(ctx: ServiceContext) -> None:
    """The start-up warm-up of a restarted replica (`search_index.warmer`): its build time
    with the longest event-loop stall meanwhile, then the index's memory (a second build
    under tracemalloc, which slows it down) and the process's RSS."""
    gc.collect()
    before_rss = rss_mb()
    ctx.search_indexes = SearchIndexes(ctx.settings.search_refresh_seconds)
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:  # how long the loop is away between two 10 ms ticks
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            stalls.append(time.perf_counter() - start - 0.01)

    tick = asyncio.create_task(ticker())
    job = warmer(ctx.search_indexes, ctx.tenants_to_warm, 3600.0)
    start, start_cpu = time.perf_counter(), time.process_time()
    await job.run_once()
    build, build_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    done.set()
    await tick
    after_rss = rss_mb()
    print(
        f"  index warm-up at start-up     {build:8.1f} s   (CPU {build_cpu:.1f} s; longest "
        f"event-loop stall {max(stalls, default=0) * 1000:.0f} ms, i.e. the longest wait of "
        f"/readyz or any other request meanwhile)"
    )
    reader = await ctx.reader(TENANT)
    view = await ctx.view(TENANT)
    scratch = SearchIndexes(ctx.settings.search_refresh_seconds)
    gc.collect()
    tracemalloc.start()
    await scratch.get(reader, view.analyzer, view.taxonomy)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    entries = len(await reader.search_rows(None))
    print(
        f"  index memory (tracemalloc)    {current / 1e6:8.1f} MB   ({current / entries / 1e3:.1f}"
        f" KB/entry; peak while building {peak / 1e6:.1f} MB; target <= 500 MB per 50,000)"
    )
    print(
        f"  process RSS                   {after_rss:8.1f} MB   (before the warm-up "
        f"{before_rss:.1f} MB; the process had held the generated entries before)"
    )
    del scratch


async def store_directly(ctx: ServiceContext, count: int) -> None:
    """`--skip-import`: the entries stored as an import stores them (same documents, batches
    of 1,000 in transactions), without the HSDS file, its parsing or events."""
    view = await ctx.view(TENANT)
    now = ctx.now()
    entries = list(bench_entries(count, reference=datetime.now(UTC)))
    start = time.perf_counter()
    for i in range(0, len(entries), 1000):
        items = [ImportedEntry(e, None, 1) for e in entries[i : i + 1000]]

        async def work(db: repo.Db, session: Session, items: list[ImportedEntry] = items) -> Any:
            await ctx.repo(db, session).write_imported(items, replaced=[], view=view, now=now)
            return None, []

        await ctx.commit(TENANT, work)
    print(f"  stored directly (no import)   {time.perf_counter() - start:8.1f} s")


async def run(
    count: int, queries: int, nats_url: str, mongo_url: str, *, skip_import: bool = False
) -> None:
    settings = Settings(nats_url=nats_url, mongo_url=mongo_url, env="test")
    runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=False)
    ctx = ServiceContext(runtime, settings, system_clock)
    await runtime.storage.drop_tenant(TENANT)
    print(f"social map benchmark: {count:,} entries, tenant '{TENANT}'")
    if skip_import:
        await store_directly(ctx, count)
    else:
        await import_figures(ctx, count)
    await search_figures(ctx, queries)
    await runtime.storage.drop_tenant(TENANT)
    runtime.storage.close()


async def import_figures(ctx: ServiceContext, count: int) -> None:
    t0 = time.perf_counter()
    entries = list(bench_entries(count, reference=datetime.now(UTC)))
    data = SocialMapData(organizations=demo_organisations(), entries=entries)
    raw = export_json(data, default_taxonomy()).encode()
    print(
        f"  prepared HSDS JSON            {len(raw) / 1e6:8.1f} MB in "
        f"{time.perf_counter() - t0:5.1f} s (not part of the import)"
    )

    rate = await raw_insert_rate(ctx, min(count, 20_000))
    print(
        f"  raw insert_many, same DB      {rate:8,.0f} docs/s (entry documents, no tx); the "
        f"import writes 1 doc/entry (+ one entries_imported event per 1,000): floor "
        f"{count / rate:5.1f} s"
    )

    view = await ctx.view(TENANT)
    t1 = time.perf_counter()
    result = parse_package(raw, "json", TENANT, view)
    t2 = time.perf_counter()
    assert result.data is not None, result.issues[:5]
    summary = await write_import(ctx, TENANT, result.data, actor=IMPORT_ACTOR)
    t3 = time.perf_counter()
    print(f"  HSDS import: parse+validate   {t2 - t1:8.1f} s")
    print(
        f"  HSDS import: write (batched)  {t3 - t2:8.1f} s   ({summary.created:,} entries, "
        f"{summary.created / (t3 - t2):,.0f} entries/s incl. events)"
    )
    print(f"  HSDS import: total            {t3 - t1:8.1f} s   (target < 60 s)")
    del raw, result, data, entries  # a restarted replica holds none of these


async def search_figures(ctx: ServiceContext, queries: int) -> None:
    db = await ctx.db(TENANT)
    await repo.replace_neighbourhoods(db, DEMO_NEIGHBOURHOODS, session=None)
    rng = random.Random(1)
    pc4s = [p for n in DEMO_NEIGHBOURHOODS for p in n.pc4]

    def make_query() -> SearchQuery:
        return SearchQuery(
            text=rng.choice(QUERIES),
            filters=SearchFilters(
                free_only=rng.random() < 0.5,
                age=rng.choice([None, 70, 30]),
                accessibility=rng.choice([[], ["wheelchair"]]),
            ),
            pc4=rng.choice(pc4s),
            radius_km=rng.choice([1.0, 2.0, 3.0]),
        )

    await warm_up_figures(ctx)
    cold = time.perf_counter()
    page = await search(ctx, TENANT, make_query(), limit=20, cursor=None)
    print(
        f"  first search (index warm)     {(time.perf_counter() - cold) * 1000:8.1f} ms "
        f"({page.total} hits)"
    )
    for _ in range(30):  # warm-up: the parsed-entry cache fills like in a running service
        await search(ctx, TENANT, make_query(), limit=20, cursor=None)
    times, cpu, totals = [], [], []
    for _ in range(queries):
        q = make_query()
        start, start_cpu = time.perf_counter(), time.process_time()
        page = await search(ctx, TENANT, q, limit=20, cursor=None)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        totals.append(page.total)
    print(
        f"  search text+filters+radius    p50 {pct(times, 50):6.1f} ms   p95 "
        f"{pct(times, 95):6.1f} ms   p99 {pct(times, 99):6.1f} ms   (n={queries}, "
        f"mean hits {statistics.mean(totals):.0f}; target p95 < 50 ms)"
    )
    # CPU time of this process (all its threads) per query: less sensitive to other load on
    # a shared machine than wall-clock time, so before/after comparisons hold
    print(
        f"  search CPU time               p50 {pct(cpu, 50):6.1f} ms   p95 "
        f"{pct(cpu, 95):6.1f} ms   p99 {pct(cpu, 99):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--skip-import",
        action="store_true",
        help="store the entries directly (index and search figures only)",
    )
    args = parser.parse_args()
    nats_url, mongo_url = os.environ.get("WK_NATS_URL"), os.environ.get("WK_MONGO_URL")
    managed = []
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
        work = Path(tmp)
        if nats_url is None:
            managed.append(start_nats(free_port(), work / "nats", work / "nats.log"))
            nats_url = managed[-1].url
        if mongo_url is None:
            managed.append(start_mongo(free_port(), work / "db", work / "db.log"))
            mongo_url = managed[-1].url
        try:
            asyncio.run(
                run(args.count, args.queries, nats_url, mongo_url, skip_import=args.skip_import)
            )
        finally:
            for process in reversed(managed):
                process.stop()


if __name__ == "__main__":
    main()
