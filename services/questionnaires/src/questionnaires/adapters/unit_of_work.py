"""The unit of work on the service runtime (the Protocol is `service/unit_of_work.py`).

Writes go through `runtime.commit` (one transaction, events staged in it) and consumed events
through `wijkkracht_common.messaging.apply_once`; reads outside a transaction use one
repositories bundle per tenant, whose reads of responses by id go through the read batching
(`batched_reads.py`) unless `batch_reads` is off.

At shutdown the runtime's intake refuses the transactions of consumed events that have not
begun (`wijkkracht_common.intake`), so nothing needs to be rolled back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from starlette.responses import JSONResponse
from wijkkracht_common import messaging
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.idempotency import idempotent
from wijkkracht_common.messaging import Delivery
from wijkkracht_common.outbox import Staged
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session

from questionnaires.adapters.batched_reads import BatchedReader
from questionnaires.adapters.documents import RESPONSES, Document
from questionnaires.adapters.repositories import Effect, Repositories, Work, mongo_repositories

T = TypeVar("T")
Db = Database[dict[str, Any]]


class StorageUnitOfWork:
    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        batch_reads: bool = True,
    ) -> None:
        self._runtime = runtime
        #: The read batching of responses (None when off); its `queries` count is read by
        #: tests and the benchmark.
        self.response_reads = BatchedReader(self.database, RESPONSES) if batch_reads else None
        self._readers: dict[str, Repositories] = {}

    async def database(self, tenant: str) -> Db:
        return await self._runtime.storage.tenant_db(tenant)

    async def commit(self, tenant: str, work: Work[T], *, mail: bool = False) -> T:
        async def on_database(db: Db, session: Session) -> tuple[T, Sequence[Staged]]:
            return await work(mongo_repositories(db, session))

        result = await self._runtime.commit(tenant, on_database)
        if mail:
            self._runtime.notify_mail()
        return result

    async def reader(self, tenant: str) -> Repositories:
        found = self._readers.get(tenant)
        if found is None:
            found = self._readers[tenant] = mongo_repositories(
                await self.database(tenant), None, batched_responses=self._batched(tenant)
            )
        return found

    def _batched(self, tenant: str) -> Callable[[str], Awaitable[Document | None]] | None:
        reads = self.response_reads
        if reads is None:
            return None

        async def get(response_id: str) -> Document | None:
            return await reads.get(tenant, response_id)

        return get

    async def apply_once(
        self,
        envelope: Envelope[Any],
        delivery: Delivery,
        effect: Effect,
        *,
        database: str | None = None,
        person: str | None = None,
    ) -> bool:
        async def on_database(db: Db, session: Session) -> Sequence[Staged]:
            return await effect(mongo_repositories(db, session))

        return await messaging.apply_once(
            self._runtime, envelope, delivery, on_database, database=database, person=person
        )

    async def tenants(self) -> list[str]:
        return await self._runtime.storage.tenants()

    async def idempotent(
        self,
        tenant: str,
        *,
        key: str | None,
        scope: str,
        body: Any,
        produce: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> JSONResponse:
        return await idempotent(
            await self.database(tenant), key=key, scope=scope, body=body, produce=produce
        )


__all__ = ["StorageUnitOfWork"]
