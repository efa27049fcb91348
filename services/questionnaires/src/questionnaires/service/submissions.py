"""Group commit of submits: concurrent submits of one tenant share one transaction.

Why: nx-27017 runs one transaction per database at a time (`Storage` serialises them) and a
transaction costs three round trips (update, outbox insert, commit), which caps a
transaction-per-submit design at the database's raw transaction rate (~150-300/s on the
2-core machine). Here the first submit of a tenant starts a transaction at once (no added
latency when idle); submits arriving while it runs queue up and go together in the next one:
one `bulk_write` of conditional updates (`status: in_progress`), one `insert_many` into the
outbox, one commit. Nothing is acknowledged before its transaction committed.

If the batch's conditional updates do not all match (a response was submitted in the
meantime, e.g. two submits of one response in one batch) or the batch fails for any other
reason, the transaction is aborted and every submit of it is retried on its own, so each gets
its own outcome (409 for the loser, the error for a bad one) and the others still commit.

Outbox records are prepared by the caller (`outbox.prepare`, in the request's context, so
each event keeps its own request's trace) and staged by `runtime.commit` in the batch's
transaction, like every other use case's events.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from wijkkracht_common.outbox import PreparedRecord
from wijkkracht_common.runtime import ServiceRuntime, Work
from wijkkracht_common.storage import Database, Session

from questionnaires.adapters.documents import INVITATIONS, RESPONSES
from questionnaires.service.problems import already_submitted

MAX_BATCH = 64


@dataclass
class PendingSubmit:
    response_id: str
    fields: dict[str, Any]  # `$set` of the response (conditional on status in_progress)
    records: list[PreparedRecord]  # the submit's events (outbox.prepare)
    invitation_id: str | None
    now: datetime
    future: asyncio.Future[None] = field(init=False)

    def __post_init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()


class _NotInProgress(Exception):
    """A conditional update matched fewer responses than the batch holds."""


class SubmitQueue:
    """Per-tenant group commit of `PendingSubmit`s: one `runtime.commit` per batch."""

    def __init__(self, runtime: ServiceRuntime, *, max_batch: int = MAX_BATCH) -> None:
        self._runtime = runtime
        self._max_batch = max_batch
        self._pending: dict[str, list[PendingSubmit]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.transactions = 0  # for the benchmark / tests: batches committed or tried

    async def commit(self, tenant: str, item: PendingSubmit) -> None:
        """Returns once the submit is committed; raises Conflict (already submitted) or the
        error of its own transaction."""
        self._pending.setdefault(tenant, []).append(item)
        if tenant not in self._tasks:
            self._tasks[tenant] = asyncio.create_task(self._drain(tenant), name=f"submits-{tenant}")
        await asyncio.shield(item.future)

    async def _drain(self, tenant: str) -> None:
        try:
            while queue := self._pending.get(tenant):
                batch, rest = queue[: self._max_batch], queue[self._max_batch :]
                if rest:
                    self._pending[tenant] = rest
                else:
                    del self._pending[tenant]
                await self._run(tenant, batch)
        finally:
            del self._tasks[tenant]
            for item in self._pending.pop(tenant, []):  # only when cancelled at shutdown
                item.future.cancel()

    async def _run(self, tenant: str, batch: list[PendingSubmit]) -> None:
        self.transactions += 1
        try:
            await self._runtime.commit(tenant, _work(batch))
        except asyncio.CancelledError:
            for item in batch:
                item.future.cancel()
            raise
        except Exception as error:  # noqa: BLE001 - isolate: each submit on its own
            if len(batch) > 1:
                for item in batch:
                    await self._run(tenant, [item])
                return
            outcome = already_submitted() if isinstance(error, _NotInProgress) else error
            if not batch[0].future.done():
                batch[0].future.set_exception(outcome)
            return
        for item in batch:
            if not item.future.done():
                item.future.set_result(None)


def _work(batch: list[PendingSubmit]) -> Work[None]:
    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[None, list[PreparedRecord]]:
        if len(batch) == 1:
            only = batch[0]
            result = await db[RESPONSES].update_one(
                {"_id": only.response_id, "status": "in_progress"},
                {"$set": only.fields},
                session=session,
            )
            matched = result.matched_count
        else:
            bulk = await db[RESPONSES].bulk_write(
                [
                    UpdateOne({"_id": i.response_id, "status": "in_progress"}, {"$set": i.fields})
                    for i in batch
                ],
                ordered=False,
                session=session,
            )
            matched = bulk.matched_count
        if matched != len(batch):
            raise _NotInProgress
        for item in batch:
            if item.invitation_id:
                await db[INVITATIONS].update_one(
                    {"_id": item.invitation_id},
                    {
                        "$set": {
                            "status": "submitted",
                            "response_id": item.response_id,
                            "updated_at": item.now,
                        }
                    },
                    session=session,
                )
        return None, [r for item in batch for r in item.records]

    return work


__all__ = ["MAX_BATCH", "PendingSubmit", "SubmitQueue"]
