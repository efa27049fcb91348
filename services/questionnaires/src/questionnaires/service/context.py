"""What every use case needs: settings, the unit of work (repositories), a clock, and the
caches of published definitions and seeded tenants."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from wijkkracht_common.intake import Intake
from wijkkracht_common.storage import Database

from questionnaires.adapters.repositories import Repositories, Work
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.service.submissions import SubmitQueue
from questionnaires.service.unit_of_work import UnitOfWork
from questionnaires.settings import Settings

if TYPE_CHECKING:
    from questionnaires.adapters.batched_reads import BatchedReader

T = TypeVar("T")

SERVICE = "questionnaires"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    uow: UnitOfWork
    clock: Callable[[], datetime] = utcnow
    # For integration tests and tools that look at what was stored (use cases never do; they
    # go through `uow`): the tenant's database, and the read batching of responses.
    db: Callable[[str], Awaitable[Database[dict[str, Any]]]] | None = None
    response_reads: BatchedReader | None = None
    # (tenant, instrument id, version) -> definition. Only the published form is cached: a
    # published version never changes except its status, which callers read from the database.
    definitions: dict[tuple[str, str, int], InstrumentDefinition] = field(default_factory=dict)
    seeded_tenants: set[str] = field(default_factory=set)
    seed_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Whether consumed events may still begin work (the runtime's, closed at shutdown).
    intake: Intake = field(default_factory=Intake)
    # Group commit of submits (see service/submissions.py).
    submissions: SubmitQueue = field(init=False)

    def __post_init__(self) -> None:
        self.submissions = SubmitQueue(
            self.uow, retry_after_seconds=self.settings.unavailable_retry_after_seconds
        )

    def now(self) -> datetime:
        return self.clock()

    async def commit(self, tenant: str, work: Work[T], *, mail: bool = False) -> T:
        """One transaction on the tenant's database: the state change and the events `work`
        returns; `mail=True` also wakes the mail relay."""
        return await self.uow.commit(tenant, work, mail=mail)

    async def reader(self, tenant: str) -> Repositories:
        """Repositories for reads outside a transaction."""
        return await self.uow.reader(tenant)


__all__ = ["SERVICE", "Context", "utcnow"]
