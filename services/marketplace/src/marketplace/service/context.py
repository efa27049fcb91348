"""What use cases get: the runtime (its one write path, `commit`), the repository factory,
settings and the clock, so unit tests can hand in fakes and a fake clock.

Use cases read through `await ctx.reader(tenant)` and write in `ctx.runtime.commit(tenant,
work)`, where `work(db, session)` builds its repository with `ctx.repo(db, session)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from wijkkracht_common.runtime import ServiceRuntime, Work
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, MongoRepository, Repository
from marketplace.domain.categories import Categories
from marketplace.domain.places import NeighbourhoodTable
from marketplace.service.publishing import PublishQueue
from marketplace.settings import Settings

SERVICE = "marketplace"
Clock = Callable[[], datetime]
RepositoryFactory = Callable[[Db, Session | None], Repository]
T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reference:
    """A tenant's reference data (projections of other services' tables), read on nearly
    every request: the neighbourhood table and the known categories."""

    table: NeighbourhoodTable
    categories: Categories


class Context:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: Settings,
        clock: Clock = system_clock,
        *,
        repositories: RepositoryFactory = MongoRepository,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.clock = clock
        self._repositories = repositories
        self._reference: dict[str, tuple[float, Reference]] = {}
        #: New posts of one tenant share a transaction (service/publishing.py); closed at
        #: shutdown (main.py's lifespan).
        self.publications = PublishQueue(
            self.commit, self.repo, retry_after_seconds=settings.unavailable_retry_after_seconds
        )

    def now(self) -> datetime:
        return self.clock()

    def repo(self, db: Db, session: Session | None = None) -> Repository:
        return self._repositories(db, session)

    async def db(self, tenant: str) -> Db:
        return await self.runtime.storage.tenant_db(tenant)

    async def reader(self, tenant: str) -> Repository:
        """The tenant's repository outside any transaction."""
        return self.repo(await self.db(tenant))

    async def commit(self, tenant: str, work: Work[T]) -> T:
        return await self.runtime.commit(tenant, work)

    async def reference(self, tenant: str) -> Reference:
        """Cached per tenant; this process's projection writes drop it at once (`invalidate`),
        those of other replicas show up within `reference_refresh_seconds`."""
        cached = self._reference.get(tenant)
        if (
            cached is not None
            and time.monotonic() - cached[0] < self.settings.reference_refresh_seconds
        ):
            return cached[1]
        loaded_at = time.monotonic()
        r = await self.reader(tenant)
        taxonomy = await r.taxonomy()
        ref = Reference(
            NeighbourhoodTable(await r.neighbourhoods()),
            Categories(taxonomy[1] if taxonomy is not None else ()),
        )
        self._reference[tenant] = (loaded_at, ref)
        return ref

    def invalidate(self, tenant: str) -> None:
        self._reference.pop(tenant, None)
