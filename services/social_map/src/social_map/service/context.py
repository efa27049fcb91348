"""What every use case needs: the runtime (its one write path, `commit`), the repository
factory, settings, the clock and per-tenant views.

Use cases read through `await ctx.reader(tenant)` and write in `ctx.commit(tenant, work)`,
where `work(db, session)` builds its repository with `ctx.repo(db, session)`; unit tests hand
in an in-memory repository factory and a runtime whose `commit` runs the work directly.

The clock is injected (tests drive freshness with a fake one). Analyzers are cached per
(tenant database, taxonomy version); parsed entries per (tenant, id, document version), so
search does not re-validate thousands of unchanged documents on every request.

The tenant view (taxonomy + freshness policy) is cached per tenant database like the search
index is kept current: this process's own writes (`commit`: taxonomy and policy edits go
through it) drop it at once, edits of other replicas show up within `search_refresh_seconds`
(a TTL on the monotonic clock, not the injected one). Where a stale policy would be written
down — every write of an entry computes its next freshness check from the policy, and the
sweep decides with it — the policy is versioned instead: `with_current_policy` reads the
stored version inside the writing transaction (one small read) and swaps in the stored policy
when any replica changed it, and `current_view` does the same outside a transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from wijkkracht_common.runtime import ServiceRuntime, Work
from wijkkracht_common.storage import Session

from social_map.adapters.documents import StoredEntry
from social_map.adapters.repositories import Db, MongoRepository, Repository
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.tenant_view import TenantView
from social_map.domain.text_analysis import Analyzer
from social_map.service.centroids import CentroidCache
from social_map.service.search_index import SearchIndexes
from social_map.settings import Settings

__all__ = ["SERVICE", "Clock", "RepositoryFactory", "ServiceContext", "TenantView", "system_clock"]

Clock = Callable[[], datetime]
RepositoryFactory = Callable[[Db, Session | None], Repository]
SERVICE = "social_map"
T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


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

    def put(self, db_name: str, item: StoredEntry) -> StoredEntry:
        self._items[(db_name, item.entry.id, item.version)] = item
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return item


class ServiceContext:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: Settings,
        clock: Clock,
        *,
        repositories: RepositoryFactory = MongoRepository,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.clock = clock
        self._repositories = repositories
        self.entries = EntryCache()
        self.search_indexes = SearchIndexes(settings.search_refresh_seconds)
        self.centroids = CentroidCache(settings.search_refresh_seconds)
        self._analyzers: dict[tuple[str, int], Analyzer] = {}
        self._views: dict[str, tuple[float, TenantView]] = {}  # db name → (loaded at, view)

    def now(self) -> datetime:
        return self.clock()

    def repo(self, db: Db, session: Session | None = None) -> Repository:
        """The repository on `db`, inside the transaction of `session` when given."""
        return self._repositories(db, session)

    async def reader(self, tenant: str) -> Repository:
        """The tenant's repository outside any transaction (reads, and lone writes)."""
        return self.repo(await self.db(tenant))

    def database_name(self, tenant: str) -> str:
        return self.runtime.storage.database_name(tenant)

    async def tenants_to_warm(self) -> list[tuple[Repository, Analyzer, Taxonomy]]:
        """Every tenant with a database of this service, with what its index is built on."""
        out: list[tuple[Repository, Analyzer, Taxonomy]] = []
        for tenant in await self.runtime.storage.tenants(max_age_seconds=0):
            view = await self.view(tenant)
            out.append((await self.reader(tenant), view.analyzer, view.taxonomy))
        return out

    async def commit(self, tenant: str, work: Work[T]) -> T:
        """`runtime.commit`; this process's cached view and search index of the tenant catch
        up before their next use (also when the transaction failed: harmless)."""
        try:
            return await self.runtime.commit(tenant, work)
        finally:
            self.invalidate(tenant)

    def invalidate(self, tenant: str) -> None:
        db_name = self.database_name(tenant)
        self._views.pop(db_name, None)
        self.search_indexes.mark_stale(db_name)

    async def db(self, tenant: str) -> Db:
        """The tenant's database itself, for shared helpers that take one (idempotency)."""
        return await self.runtime.storage.tenant_db(tenant)

    async def view(self, tenant: str) -> TenantView:
        db_name = self.database_name(tenant)
        cached = self._views.get(db_name)
        ttl = self.settings.search_refresh_seconds
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        loaded_at = time.monotonic()
        reader = await self.reader(tenant)
        taxonomy, version = await reader.load_taxonomy()
        key = (db_name, version)
        analyzer = self._analyzers.get(key)
        if analyzer is None:
            analyzer = self._analyzers[key] = Analyzer.for_taxonomy(taxonomy)
        policy, policy_version = await reader.load_policy()
        view = TenantView(tenant, taxonomy, version, analyzer, policy, policy_version)
        self._views[db_name] = (loaded_at, view)
        return view

    async def current_view(self, tenant: str) -> TenantView:
        """The view with the freshness policy stored now (written by any replica)."""
        return await self.with_current_policy(await self.reader(tenant), await self.view(tenant))

    async def with_current_policy(self, r: Repository, view: TenantView) -> TenantView:
        """`view` with the freshness policy `r` sees (inside a transaction: the one it commits
        with; a policy written meanwhile conflicts with it or waits for it). A newer policy
        also drops this process's cached view."""
        if await r.policy_version() == view.policy_version:
            return view
        policy, version = await r.load_policy()
        self._views.pop(self.database_name(view.tenant), None)
        return replace(view, policy=policy, policy_version=version)

    def public_url(self, path: str) -> str:
        """An absolute link to `path` of this API as the public sees it (`public_base_url`):
        every link in a mail, feed or page is made here, never from the request's host."""
        return f"{self.settings.public_base_url.rstrip('/')}/{path.lstrip('/')}"

    def link_secret(self, tenant: str) -> bytes:
        """Per-tenant key of the verification links, derived from the master secret."""
        master = self.settings.verification_secret.get_secret_value().encode()
        return hmac.new(master, f"verification-link:{tenant}".encode(), hashlib.sha256).digest()
