"""Group commit of submits: concurrent submits of one tenant share one transaction.

Why: a transaction costs three round trips (update, outbox insert, commit), and where the
database runs one transaction per database at a time (`Storage` serialises them on an engine
that needs it) a transaction per submit caps submits at the database's raw transaction rate
(~150-300/s on the 2-core machine). Here the first submit of a tenant starts
a transaction at once (no added latency when idle); submits arriving while it runs queue up
and go together in the next one: one write of the conditional updates (`status: in_progress`,
`ResponseRepository.store_submits`), one `insert_many` into the outbox, one commit. Nothing is
acknowledged before its transaction committed.

If the batch's conditional updates do not all match (a response was submitted in the
meantime, e.g. two submits of one response in one batch) or the batch fails for any other
reason, the transaction is aborted and every submit of it is retried on its own, so each gets
its own outcome (409 for the loser, the error for a bad one) and the others still commit.

At shutdown (`close`, then `wait_idle`) new submits are refused with 503 and `Retry-After`
before anything is stored, and the batches already queued still run to their outcome. So a
submit in flight is either committed, with its event in the outbox, or refused. It is never
lost (entrypoints/shutdown.py).

Outbox records are prepared by the caller (`outbox.prepare`, in the request's context, so
each event keeps its own request's trace) and staged by the unit of work's commit in the
batch's transaction, like every other use case's events; the responses' stored form is rendered
ahead too (`ResponseRepository.render_submit`), so the transaction only writes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from wijkkracht_common.outbox import PreparedRecord

from questionnaires.adapters.repositories import RenderedSubmit, Repositories, Work
from questionnaires.service.problems import already_submitted, stopping
from questionnaires.service.staff_access import StaffAccess
from questionnaires.service.unit_of_work import UnitOfWork

MAX_BATCH = 64


@dataclass
class PendingSubmit:
    submit: RenderedSubmit  # the submitted response (stored if still in progress)
    records: list[PreparedRecord]  # the submit's events (outbox.prepare)
    now: datetime
    access: StaffAccess | None = None  # a staff member submitting with the resident
    future: asyncio.Future[None] = field(init=False)

    def __post_init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()


class _NotInProgress(Exception):
    """A conditional update matched fewer responses than the batch holds."""


class SubmitQueue:
    """Per-tenant group commit of `PendingSubmit`s: one transaction per batch."""

    def __init__(
        self, uow: UnitOfWork, *, max_batch: int = MAX_BATCH, retry_after_seconds: int = 5
    ) -> None:
        self._uow = uow
        self._max_batch = max_batch
        self._retry_after = retry_after_seconds
        self._pending: dict[str, list[PendingSubmit]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        self.transactions = 0  # for the benchmark / tests: batches committed or tried

    async def commit(self, tenant: str, item: PendingSubmit) -> None:
        """Returns once the submit is committed; raises Conflict (already submitted), the
        error of its own transaction, or 503 once the queue is closed."""
        if self._closed:
            raise stopping(self._retry_after)
        self._pending.setdefault(tenant, []).append(item)
        if tenant not in self._tasks:
            self._tasks[tenant] = asyncio.create_task(self._drain(tenant), name=f"submits-{tenant}")
        await asyncio.shield(item.future)

    def close(self) -> None:
        """Shutdown: refuse new submits; those already queued still go to the database."""
        self._closed = True

    @property
    def busy(self) -> bool:
        """Submits are queued or being committed."""
        return bool(self._tasks)

    async def wait_idle(self) -> None:
        """Returns when every queued submit has been committed or refused."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

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
            await self._uow.commit(tenant, _work(batch))
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
    async def work(repos: Repositories) -> tuple[None, list[PreparedRecord]]:
        if await repos.responses.store_submits([i.submit for i in batch]) != len(batch):
            raise _NotInProgress
        for item in batch:
            record = item.submit.record
            if record.invitation_id:
                await repos.invitations.mark_submitted(record.invitation_id, record.id, item.now)
            if item.access is not None:
                await item.access.record(repos)
        return None, [r for item in batch for r in item.records]

    return work


__all__ = ["MAX_BATCH", "PendingSubmit", "SubmitQueue"]
