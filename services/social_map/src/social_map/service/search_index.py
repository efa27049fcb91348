"""Per-tenant in-memory search indexes, built lazily and kept current from the database.

The social map owns its data, so each service process keeps a `domain.search_index.SearchIndex`
per tenant (a projection: no entry bodies). It is built on the tenant's first search from the
`search` projection stored on every entry document, and caught up by `seq`, the tenant's
entry change counter that every write of an entry document increments in its transaction:

- this process's own writes (`ServiceContext.commit`: create, update, verify, report, sweep,
  import, taxonomy) mark the index stale, so the next search reads the counter and the
  changed documents at once (read-your-writes within one replica);
- otherwise the counter (one `find_one` by `_id`) is read at most every
  `search_refresh_seconds` (default 1 s), so writes of other replicas show up within that
  window, without events or coordination;
- a database that was dropped and recreated has a new counter epoch → full rebuild; a new
  analyzer version (taxonomy edit) → full rebuild.

At start-up `warmer` builds every tenant's index in the background (the service is ready
meanwhile; `state(db)` says "warming" until its build is done). A search of a tenant whose
build is running waits for that build instead of starting a second one; every other request
is served from the database as always. The build hands the event loop back between chunks
of rows, so health checks and other requests keep being answered while it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from wijkkracht_common.periodic import PeriodicTask

from social_map.adapters.documents import SearchRow
from social_map.adapters.repositories import Repository
from social_map.bulk import gc_paused
from social_map.domain.freshness import FreshnessState
from social_map.domain.search_index import SearchIndex
from social_map.domain.search_projection import SearchProjection, project
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer


@dataclass(slots=True)
class _Tenant:
    index: SearchIndex
    analyzer_version: str
    epoch: str | None
    seq: int
    checked_at: float
    stale: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SearchIndexes:
    def __init__(self, refresh_seconds: float = 1.0) -> None:
        self.refresh_seconds = refresh_seconds
        self._tenants: dict[str, _Tenant] = {}
        self._build_locks: dict[str, asyncio.Lock] = {}
        #: a start-up warm-up is planned or running: unbuilt tenants are "warming"
        self.warming = False

    def state(self, db_name: str) -> str:
        """ "ready" (built), "warming" (a build is running) or "cold" (built on first use)."""
        if db_name in self._tenants:
            return "ready"
        lock = self._build_locks.get(db_name)
        return "warming" if self.warming or (lock is not None and lock.locked()) else "cold"

    def built(self) -> set[str]:
        return set(self._tenants)

    def mark_stale(self, db_name: str) -> None:
        """This process changed entries of the tenant: catch up before the next search."""
        item = self._tenants.get(db_name)
        if item is not None:
            item.stale = True

    def drop(self, db_name: str) -> None:
        self._tenants.pop(db_name, None)

    async def get(self, reader: Repository, analyzer: Analyzer, taxonomy: Taxonomy) -> SearchIndex:
        name = reader.name
        item = self._tenants.get(name)
        if item is None or item.analyzer_version != analyzer.version:
            lock = self._build_locks.setdefault(name, asyncio.Lock())
            async with lock:
                item = self._tenants.get(name)
                if item is None or item.analyzer_version != analyzer.version:
                    item = await self._build(reader, analyzer, taxonomy)
                    self._tenants[name] = item
            return item.index
        if item.stale or time.monotonic() - item.checked_at >= self.refresh_seconds:
            async with item.lock:
                if item.stale or time.monotonic() - item.checked_at >= self.refresh_seconds:
                    await self._catch_up(reader, item, analyzer, taxonomy)
        return self._tenants[name].index

    async def _build(self, reader: Repository, analyzer: Analyzer, taxonomy: Taxonomy) -> _Tenant:
        # the counter first: documents written meanwhile carry a higher seq → next catch-up
        epoch, seq = await reader.current_seq()
        checked = time.monotonic()
        index = SearchIndex()
        await _apply(reader, index, await reader.search_rows(None), analyzer, taxonomy)
        return _Tenant(index, analyzer.version, epoch, seq, checked)

    async def _catch_up(
        self, reader: Repository, item: _Tenant, analyzer: Analyzer, taxonomy: Taxonomy
    ) -> None:
        item.stale = False
        epoch, seq = await reader.current_seq()
        item.checked_at = time.monotonic()
        if epoch != item.epoch or seq < item.seq:
            self._tenants[reader.name] = await self._build(reader, analyzer, taxonomy)
            return
        if seq == item.seq:
            return
        await _apply(reader, item.index, await reader.search_rows(item.seq), analyzer, taxonomy)
        item.seq = seq


#: Rows projected between two hand-backs of the event loop (~10-20 ms of CPU each).
CHUNK = 1000


async def _apply(
    reader: Repository,
    index: SearchIndex,
    rows: list[SearchRow],
    analyzer: Analyzer,
    taxonomy: Taxonomy,
) -> None:
    """Upsert projections of these entries; entries written before the projection existed
    (or with another analyzer version) are projected from their body (read in batches)."""
    missing: list[str] = []
    for start in range(0, len(rows), CHUNK):
        with gc_paused():
            missing += _apply_projections(index, rows[start : start + CHUNK], analyzer)
        if len(rows) > CHUNK:
            await asyncio.sleep(0)  # a big build must not stall other requests
    for start in range(0, len(missing), 1000):
        for stored in await reader.entries_by_ids(missing[start : start + 1000]):
            data = project(stored.entry, analyzer, taxonomy)
            hidden = stored.freshness is FreshnessState.HIDDEN
            index.upsert(SearchProjection.from_json(stored.entry.id, stored.version, hidden, data))


def _apply_projections(index: SearchIndex, rows: list[SearchRow], analyzer: Analyzer) -> list[str]:
    """Upsert the stored projections; ids of entries that need projecting from the body."""
    missing: list[str] = []
    for row in rows:
        if index.version_of(row.id) == row.version:
            continue
        projection = row.projection(analyzer.version)
        if projection is None:
            missing.append(row.id)
        else:
            index.upsert(projection)
    return missing


log = structlog.get_logger("social_map.search_index")
TenantsAndViews = Callable[[], Awaitable[list[tuple[Repository, Analyzer, Taxonomy]]]]


def warmer(
    indexes: SearchIndexes, tenants: TenantsAndViews, interval_seconds: float
) -> PeriodicTask:
    """Build (or catch up) the index of every tenant with a database: at start-up, then every
    `interval_seconds` (an idle tenant's index stays current, a new tenant gets one)."""

    indexes.warming = True  # from now until the first pass ends (the job starts later)

    async def warm() -> None:
        try:
            for reader, analyzer, taxonomy in await tenants():
                built = reader.name in indexes.built()
                started = time.perf_counter()
                await indexes.get(reader, analyzer, taxonomy)
                if not built:
                    log.info(
                        "search index built",
                        database=reader.name,
                        seconds=round(time.perf_counter() - started, 2),
                    )
        finally:
            indexes.warming = False  # a failed pass leaves the rest to their first search

    return PeriodicTask("search-index-warmer", warm, interval_seconds)
