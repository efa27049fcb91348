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
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

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


async def _apply(
    reader: Repository,
    index: SearchIndex,
    rows: list[SearchRow],
    analyzer: Analyzer,
    taxonomy: Taxonomy,
) -> None:
    """Upsert projections of these entries; entries written before the projection existed
    (or with another analyzer version) are projected from their body (read in batches)."""
    with gc_paused():
        missing = _apply_projections(index, rows, analyzer)
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
