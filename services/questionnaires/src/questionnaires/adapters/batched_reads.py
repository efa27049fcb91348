"""Read batching: one `$in` query on `_id` serves the concurrent reads by id of one tenant's
collection.

Why: every request on a response (submit above all) starts by reading it, for the ownership
check. Read one by one, each read is a round trip through the driver's worker thread and the
database server. Where a query costs the server far more than the documents it returns (on the
embedded development database one `find` with `_id: {$in: [32 ids]}` costs about as much as
two or three `find_one`s), answering the reads of a busy moment with one query saves most of
that work. What it costs: a read that arrives while a query runs waits for that query before
its own is sent (at most one query's latency, only under load), and the reads of one query
share its failure. On an engine whose per-query cost is small the saving is smaller; switch it
off with `WK_BATCH_READS=false` (`Settings.batch_reads`): every read is then its own
`find_one` (`adapters/repositories.py`).

Like the group commit of submits (service/submissions.py): the first read of a tenant is sent
at once (no added latency when idle); reads arriving while it runs wait and go together in the
next query. A read is always answered by a query sent after it was asked, so it sees every
write that had committed before (a retry after a submit reads the submitted document). Each
caller gets its own document (callers asking for the same id at once get copies), or None.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from wijkkracht_common.storage import Database

MAX_BATCH = 128

Document = dict[str, Any]


class BatchedReader:
    """`get(tenant, id)` = `find_one({"_id": id})` on `collection`, batched per tenant."""

    def __init__(
        self,
        database: Callable[[str], Awaitable[Database[Document]]],
        collection: str,
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._database = database
        self._collection = collection
        self._max_batch = max_batch
        # tenant -> id -> futures of the callers waiting for it (insertion ordered)
        self._pending: dict[str, dict[str, list[asyncio.Future[Document | None]]]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.queries = 0  # for tests / the benchmark

    async def get(self, tenant: str, doc_id: str) -> Document | None:
        future: asyncio.Future[Document | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(tenant, {}).setdefault(doc_id, []).append(future)
        if tenant not in self._tasks:
            # A context of its own: the queries serve many requests, not the first one's
            # trace, tenant or correlation id.
            self._tasks[tenant] = asyncio.create_task(
                self._drain(tenant),
                name=f"reads-{self._collection}-{tenant}",
                context=contextvars.Context(),
            )
        return await future

    async def _drain(self, tenant: str) -> None:
        try:
            while pending := self._pending.get(tenant):
                ids = list(pending)[: self._max_batch]
                batch = {doc_id: pending.pop(doc_id) for doc_id in ids}
                if not pending:
                    del self._pending[tenant]
                await self._run(tenant, batch)
        finally:
            del self._tasks[tenant]
            for waiters in self._pending.pop(tenant, {}).values():  # only when cancelled
                for future in waiters:
                    future.cancel()

    async def _run(
        self, tenant: str, batch: dict[str, list[asyncio.Future[Document | None]]]
    ) -> None:
        self.queries += 1
        try:
            db = await self._database(tenant)
            ids = list(batch)
            query = {"_id": ids[0]} if len(ids) == 1 else {"_id": {"$in": ids}}
            found = {doc["_id"]: doc async for doc in db[self._collection].find(query)}
        except asyncio.CancelledError:
            for waiters in batch.values():
                for future in waiters:
                    future.cancel()
            raise
        except Exception as error:  # noqa: BLE001 - every caller of the batch gets it
            for waiters in batch.values():
                for future in waiters:
                    if not future.done():
                        future.set_exception(error)
            return
        for doc_id, waiters in batch.items():
            doc = found.get(doc_id)
            for position, future in enumerate(waiters):
                if not future.done():  # the caller may have gone (cancelled)
                    future.set_result(doc if doc is None or position == 0 else dict(doc))


__all__ = ["MAX_BATCH", "BatchedReader"]
