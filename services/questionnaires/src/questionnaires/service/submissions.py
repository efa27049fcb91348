"""Group commit of submits (`wijkkracht_common.group_commit`): concurrent submits of one
tenant share one transaction.

A batch is one write of the conditional updates (`status: in_progress`,
`ResponseRepository.store_submits`), the invitations' new status, the staff access records,
one `insert_many` into the outbox and one commit. If the conditional updates do not all match
(a response was submitted in the meantime, e.g. two submits of one response in one batch) or
the batch fails for any other reason, the transaction is aborted and every submit of it is
retried on its own, so each gets its own outcome (409 for the loser, the error for a bad one)
and the others still commit.

At shutdown (entrypoints/shutdown.py) new submits are refused with 503 and `Retry-After`
before anything is stored, and the batches already queued still run to their outcome: a
submit in flight is committed, with its event in the outbox, or refused, never lost.

Outbox records are prepared by the caller (`outbox.prepare`, in the request's context, so
each event keeps its own request's trace) and staged by the unit of work's commit in the
batch's transaction, like every other use case's events; the responses' stored form is rendered
ahead too (`ResponseRepository.render_submit`), so the transaction only writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from wijkkracht_common.group_commit import MAX_BATCH, GroupCommit, stopping
from wijkkracht_common.outbox import PreparedRecord

from questionnaires.adapters.repositories import RenderedSubmit, Repositories, Work
from questionnaires.service.problems import already_submitted
from questionnaires.service.staff_access import StaffAccess
from questionnaires.service.unit_of_work import UnitOfWork


@dataclass
class PendingSubmit:
    submit: RenderedSubmit  # the submitted response (stored if still in progress)
    records: list[PreparedRecord]  # the submit's events (outbox.prepare)
    now: datetime
    access: StaffAccess | None = None  # a staff member submitting with the resident


class _NotInProgress(Exception):
    """A conditional update matched fewer responses than the batch holds."""


class SubmitQueue(GroupCommit[PendingSubmit, None]):
    """`submit(tenant, pending)` returns once the submit is committed; raises Conflict
    (already submitted), the error of its own transaction, or 503 once the queue is closed."""

    def __init__(
        self, uow: UnitOfWork, *, max_batch: int = MAX_BATCH, retry_after_seconds: int = 5
    ) -> None:
        super().__init__(
            self._write_submits,
            refusal=partial(stopping, retry_after_seconds),
            max_batch=max_batch,
            alone=_alone,
            name="submits",
        )
        self._uow = uow

    async def _write_submits(self, tenant: str, batch: list[PendingSubmit]) -> list[None]:
        await self._uow.commit(tenant, _work(batch))
        return [None] * len(batch)


def _alone(error: Exception) -> Exception:
    """A submit alone whose conditional update did not match: it was submitted already."""
    return already_submitted() if isinstance(error, _NotInProgress) else error


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
