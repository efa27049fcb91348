"""What use cases get: the runtime (its one write path, `commit`), the repository factory,
settings and the clock, so unit tests can hand in fakes and a fake clock.

Use cases read through `await ctx.reader(tenant)` and write in `ctx.runtime.commit(tenant,
work)`, where `work(db, session)` builds its repository with `ctx.repo(db, session)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from wijkkracht_common.runtime import ServiceRuntime, Work
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, MongoRepository, Repository
from marketplace.settings import Settings

SERVICE = "marketplace"
Clock = Callable[[], datetime]
RepositoryFactory = Callable[[Db, Session | None], Repository]
T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


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
