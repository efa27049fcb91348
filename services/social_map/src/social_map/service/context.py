"""What every use case needs: the runtime, settings, the clock and per-tenant views.

The clock is injected (tests drive freshness with a fake one). Analyzers are cached per
(tenant database, taxonomy version); parsed entries per (tenant, id, document version), so
search does not re-validate thousands of unchanged documents on every request.

The tenant view (taxonomy + freshness policy) is cached per tenant database like the search
index is kept current: this process's own writes (`commit`: taxonomy and policy edits go
through it) drop it at once, edits of other replicas show up within `search_refresh_seconds`
(a TTL on the monotonic clock, not the injected one).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from wijkkracht_common.runtime import ServiceRuntime, Work

from social_map.adapters import repositories as repo
from social_map.adapters.documents import StoredEntry, stored_entry
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer
from social_map.service.centroids import CentroidCache
from social_map.service.search_index import SearchIndexes
from social_map.settings import Settings

Clock = Callable[[], datetime]
SERVICE = "social_map"
T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TenantView:
    tenant: str
    taxonomy: Taxonomy
    taxonomy_version: int
    analyzer: Analyzer
    policy: FreshnessPolicy


class EntryCache:
    """Bounded LRU of parsed entries keyed by (database, id, version)."""

    def __init__(self, size: int = 100_000) -> None:
        self._items: OrderedDict[tuple[str, str, int], StoredEntry] = OrderedDict()
        self._size = size

    def get(self, db_name: str, entry_id: str, version: int) -> StoredEntry | None:
        key = (db_name, entry_id, version)
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, db_name: str, doc: dict[str, Any]) -> StoredEntry:
        item = stored_entry(doc)
        self._items[(db_name, item.entry.id, item.version)] = item
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return item


class ServiceContext:
    def __init__(self, runtime: ServiceRuntime, settings: Settings, clock: Clock) -> None:
        self.runtime = runtime
        self.settings = settings
        self.clock = clock
        self.entries = EntryCache()
        self.search_indexes = SearchIndexes(settings.search_refresh_seconds)
        self.centroids = CentroidCache(settings.search_refresh_seconds)
        self._analyzers: dict[tuple[str, int], Analyzer] = {}
        self._views: dict[str, tuple[float, TenantView]] = {}  # db name → (loaded at, view)

    def now(self) -> datetime:
        return self.clock()

    async def commit(self, tenant: str, work: Work[T]) -> T:
        """`runtime.commit` for writes of entries: this process's search index of the tenant
        catches up before its next search (also when the transaction failed: harmless)."""
        try:
            return await self.runtime.commit(tenant, work)
        finally:
            db_name = self.runtime.storage.database_name(tenant)
            self._views.pop(db_name, None)
            self.search_indexes.mark_stale(db_name)

    async def db(self, tenant: str) -> repo.Db:
        return await self.runtime.storage.tenant_db(tenant)

    async def view(self, tenant: str) -> TenantView:
        db = await self.db(tenant)
        cached = self._views.get(db.name)
        ttl = self.settings.search_refresh_seconds
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        loaded_at = time.monotonic()
        taxonomy, version = await repo.load_taxonomy(db)
        key = (db.name, version)
        analyzer = self._analyzers.get(key)
        if analyzer is None:
            analyzer = self._analyzers[key] = Analyzer.for_taxonomy(taxonomy)
        view = TenantView(tenant, taxonomy, version, analyzer, await repo.load_policy(db))
        self._views[db.name] = (loaded_at, view)
        return view

    def link_secret(self, tenant: str) -> bytes:
        """Per-tenant key of the verification links, derived from the master secret."""
        master = self.settings.verification_secret.get_secret_value().encode()
        return hmac.new(master, f"verification-link:{tenant}".encode(), hashlib.sha256).digest()
