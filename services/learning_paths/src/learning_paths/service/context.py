"""What every use case gets: the runtime (its one write path, `commit`), a repository
factory, settings, the clock and the social map client, so unit tests can hand in fakes.

Use cases read through `await ctx.reader(tenant)` and write in `ctx.commit(tenant, work)`,
where `work(repo)` gets a repository bound to the transaction and returns (result, events).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Database, Session

from learning_paths.adapters.repositories import MongoRepository, Repository
from learning_paths.adapters.social_map import LocalOffers, NoLocalOffers
from learning_paths.settings import Settings

T = TypeVar("T")
SERVICE = "learning_paths"
Db = Database[dict[str, Any]]
Clock = Callable[[], datetime]
RepositoryFactory = Callable[[Db, Session | None], Repository]
Work = Callable[[Repository], Awaitable[tuple[T, Sequence[Staged]]]]


def system_clock() -> datetime:
    return datetime.now(UTC)


class Databases(Protocol):
    async def tenant_db(self, tenant: str) -> Db: ...


class Runtime(Protocol):
    """What use cases need of `ServiceRuntime` (a fake in unit tests)."""

    @property
    def storage(self) -> Databases: ...

    async def commit(
        self,
        tenant: str,
        work: Callable[[Db, Session], Awaitable[tuple[Any, Sequence[Staged]]]],
        *,
        batch_events: bool = False,
    ) -> Any: ...


@dataclass
class Context:
    runtime: Runtime
    settings: Settings
    repos: RepositoryFactory = MongoRepository
    clock: Clock = system_clock
    local_offers: LocalOffers = field(default_factory=NoLocalOffers)

    def now(self) -> datetime:
        return self.clock()

    async def reader(self, tenant: str) -> Repository:
        db = await self.runtime.storage.tenant_db(tenant)
        return self.repos(db, None)

    async def commit(self, tenant: str, work: Work[T]) -> T:
        async def run(db: Db, session: Session) -> tuple[T, Sequence[Staged]]:
            return await work(self.repos(db, session))

        result: T = await self.runtime.commit(tenant, run)
        return result
