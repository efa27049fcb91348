"""The unit of work: how use cases reach the repositories (model: cosmicpython's
`service_layer/unit_of_work.py`).

`commit(tenant, work)` runs `work(repositories)` in one transaction on the tenant's database
and stages the events it returns in that same transaction (the transactional outbox);
`reader(tenant)` gives repositories for reads outside a transaction; `apply_once(envelope,
delivery, effect, person=...)` applies a consumed event's effect at most once (inbox claim,
effect and follow-up events in one transaction), and not at all when the event is about a
person this service erased. The service runs on `adapters.unit_of_work.
StorageUnitOfWork`; unit tests inject an in-memory fake (`Context(uow=...)`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from starlette.responses import JSONResponse
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.messaging import Delivery

from questionnaires.adapters.repositories import Effect, Repositories, Work

T = TypeVar("T")


class UnitOfWork(Protocol):
    async def commit(self, tenant: str, work: Work[T], *, mail: bool = False) -> T:
        """`mail=True`: also wake the mail relay (otherwise it sends at its next poll)."""
        ...

    async def reader(self, tenant: str) -> Repositories: ...

    async def apply_once(
        self,
        envelope: Envelope[Any],
        delivery: Delivery,
        effect: Effect,
        *,
        database: str | None = None,
        person: str | None = None,
    ) -> bool:
        """True when applied, False for a duplicate (or an event about an erased person).
        `database`: another database than the envelope's tenant's (e.g. `PLATFORM_TENANT`
        for the tenant registry); `person`: the person the event is about."""
        ...

    async def tenants(self) -> list[str]:
        """Tenants that have a database of this service."""
        ...

    async def idempotent(
        self,
        tenant: str,
        *,
        key: str | None,
        scope: str,
        body: Any,
        produce: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> JSONResponse:
        """`Idempotency-Key` of a creating POST: `produce()` once per (scope, key)."""
        ...


__all__ = ["UnitOfWork"]
