"""Group commit: concurrent writes of one tenant share one transaction.

Why: where the database runs one transaction per database at a time (the embedded engine;
`Storage` serialises them there, across processes too), a transaction per request caps a hot
write path at the database's raw transaction rate (~150-300/s on a 2-core machine), and every
transaction pays its fixed cost (round trips, the commit, the outbox insert) again. Group
commit amortises that cost: the first item of a tenant starts a transaction at once (no added
latency when idle); items arriving while it runs queue up and go together in the next one,
written by the service's batch writer in one transaction (one `insert_many` rather than one
insert per item, one commit). Nothing is answered before its transaction committed.

The service supplies the batch writer: it writes one batch in one transaction and returns
each item's outcome, a result or an exception for that item alone (a conflict decided inside
the transaction). When it raises instead, the whole batch failed (an aborted transaction, a
conditional update that did not match, a document the database refused), and every item of
it is written again in a batch of its own, so each gets its own outcome and one item's
failure never becomes another's. A lone item's exception may be mapped by the service
(`alone`, e.g. "the conditional update did not match" → 409).

Batches hold at most `max_batch` units of `size(item)` (1 per item unless the service counts
otherwise, e.g. statements per request); an item larger than that goes alone. Groups are per
tenant (each tenant has its own database), one drain task per tenant while it has work.

A caller awaits its item's own outcome through `asyncio.shield`: a caller that goes away
(a client disconnecting) does not take the item out of a batch. Shutdown: `close()` refuses
new items with the service's error (`stopping`: 503 with `Retry-After`, nothing stored, so
the client sends it again), the items already queued still run to their outcome; `wait_idle()`
returns once they have; `stop()` does both. Register it with `ServiceRuntime.on_stopping`, so
it runs before the runtime's own shutdown: a batch still queued when the storage closes fails
("Cannot use MongoClient after close") and its items are lost. So an item in flight at
shutdown is committed or refused, never lost. If a drain task is cancelled even so, its batch
and the items still queued are cancelled.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from wijkkracht_common.errors import ServiceUnavailable

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Writes one batch of a tenant in one transaction; returns one outcome per item, in order:
#: its result, or an exception that is that item's alone. Raises when the batch failed.
BatchWriter = Callable[[str, list[Item]], Awaitable[Sequence[Result | BaseException]]]

MAX_BATCH = 64


def stopping(retry_after_seconds: int) -> ServiceUnavailable:
    """An item that arrives while this instance shuts down. Nothing was stored, so the client
    may send it again, to this instance after its restart or to another instance."""
    return ServiceUnavailable(
        "De dienst wordt herstart; er is niets opgeslagen, probeer het zo opnieuw. / The "
        "service is restarting; nothing was stored, please try again shortly.",
        kind="service-stopping",
        headers={"Retry-After": str(retry_after_seconds)},
    )


def _one(_: object) -> int:
    return 1


def _unchanged(error: Exception) -> BaseException:
    return error


@dataclass(eq=False)
class _Pending(Generic[Item, Result]):
    item: Item
    future: asyncio.Future[Result] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[Item, Result]):
    """Per-tenant group commit of `Item`s, each answered with its own `Result`."""

    def __init__(
        self,
        write: BatchWriter[Item, Result],
        *,
        refusal: Callable[[], BaseException],
        max_batch: int = MAX_BATCH,
        size: Callable[[Item], int] = _one,
        alone: Callable[[Exception], BaseException] = _unchanged,
        name: str = "group-commit",
    ) -> None:
        """`refusal`: the error of an item submitted after `close()` (`stopping(...)`);
        `alone`: maps the exception of a batch of one item to that item's outcome."""
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write = write
        self._refusal = refusal
        self._max_batch = max_batch
        self._size = size
        self._alone = alone
        self._name = name
        self._pending: dict[str, deque[_Pending[Item, Result]]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        self.transactions = 0  # for benchmarks and tests: batches written or tried

    async def submit(self, tenant: str, item: Item) -> Result:
        """Returns the item's result once its transaction committed; raises the item's own
        error, or the refusal once the group commit is closed."""
        if self._closed:
            raise self._refusal()
        pending: _Pending[Item, Result] = _Pending(item)
        queue = self._pending.get(tenant)
        if queue is None:
            queue = self._pending[tenant] = deque()
            task = asyncio.create_task(self._drain(tenant, queue), name=f"{self._name}-{tenant}")
            self._tasks[tenant] = task
            task.add_done_callback(partial(self._finished, tenant))
        queue.append(pending)
        return await asyncio.shield(pending.future)

    def close(self) -> None:
        """Shutdown: refuse new items; those already queued still go to the database."""
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def busy(self) -> bool:
        """Items are queued or being written."""
        return bool(self._tasks)

    async def wait_idle(self) -> None:
        """Returns when every queued item has its outcome (or was cancelled)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def stop(self) -> None:
        """`close()`, then `wait_idle()`: run at shutdown before the runtime stops."""
        self.close()
        await self.wait_idle()

    async def _drain(self, tenant: str, queue: deque[_Pending[Item, Result]]) -> None:
        try:
            while queue:
                await self._run(tenant, self._next_batch(queue))
        finally:
            current = asyncio.current_task()
            assert current is not None
            self._finished(tenant, current)

    def _finished(self, tenant: str, task: asyncio.Task[None]) -> None:
        """Forget the tenant's drain task; cancel what it left queued (only when it was
        cancelled). Also run as the task's done callback: a task cancelled before it began
        never reaches its `finally`."""
        if self._tasks.get(tenant) is not task:
            return
        del self._tasks[tenant]
        for pending in self._pending.pop(tenant, ()):
            pending.future.cancel()

    def _next_batch(self, queue: deque[_Pending[Item, Result]]) -> list[_Pending[Item, Result]]:
        batch = [queue.popleft()]
        total = self._size(batch[0].item)
        while queue and total + (size := self._size(queue[0].item)) <= self._max_batch:
            batch.append(queue.popleft())
            total += size
        return batch

    async def _run(self, tenant: str, batch: list[_Pending[Item, Result]]) -> None:
        try:
            await self._write_batch(tenant, batch)
        except asyncio.CancelledError:
            for pending in batch:  # also those not yet retried alone
                pending.future.cancel()
            raise

    async def _write_batch(self, tenant: str, batch: list[_Pending[Item, Result]]) -> None:
        self.transactions += 1
        try:
            outcomes = await self._write(tenant, [p.item for p in batch])
        except Exception as error:  # noqa: BLE001 - isolate: each item on its own
            if len(batch) > 1:
                for pending in batch:
                    await self._write_batch(tenant, [pending])
                return
            _settle(batch[0].future, self._alone(error))
            return
        if len(outcomes) != len(batch):  # a bug of the writer; what it wrote is committed
            wrong = RuntimeError(f"{len(outcomes)} outcomes for a batch of {len(batch)}")
            outcomes = [wrong] * len(batch)
        for pending, outcome in zip(batch, outcomes, strict=True):
            _settle(pending.future, outcome)


def _settle(future: asyncio.Future[Result], outcome: Result | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


__all__ = ["MAX_BATCH", "BatchWriter", "GroupCommit", "stopping"]


class _Committer(Protocol):
    @property
    def storage(self) -> Any: ...

    async def commit(self, tenant: str, work: Any, *, batch_events: bool = False) -> Any: ...


_Work = Callable[[Any, Any], Awaitable[tuple[Any, Sequence[Any]]]]


class SharedCommits:
    """`runtime.commit` for independent works of one tenant that may share a transaction:
    those submitted while the tenant's previous transaction runs go together in the next one,
    each work's result returned to its own caller (a `GroupCommit` of works). For consumers
    that apply batches concurrently in one process (effect measurement's partitions): one
    transaction per round instead of one per partition, on the engine where a database runs
    one transaction at a time. A work that raises fails the shared transaction; every work of
    it then runs again alone (each must tolerate running again, as any retried transaction
    work must), so its failure stays its own."""

    def __init__(self, runtime: _Committer, *, max_batch: int = 16) -> None:
        self.runtime = runtime
        self._group: GroupCommit[tuple[_Work, bool], Any] = GroupCommit(
            self._write,
            # Never closed: a service stopping refuses the shared transaction itself
            # (`intake.ShuttingDown`, transient), and every caller gets that error.
            refusal=lambda: RuntimeError("shared commits are not closed"),
            max_batch=max_batch,
            name="shared-commits",
        )

    @property
    def storage(self) -> Any:
        return self.runtime.storage

    @property
    def transactions(self) -> int:
        return self._group.transactions

    async def commit(self, tenant: str, work: _Work, *, batch_events: bool = False) -> Any:
        return await self._group.submit(tenant, (work, batch_events))

    async def _write(self, tenant: str, items: list[tuple[_Work, bool]]) -> list[Any]:
        results: list[Any] = []

        async def together(db: Any, session: Any) -> tuple[None, list[Any]]:
            results.clear()  # a retried transaction runs every work again
            events: list[Any] = []
            for work, _ in items:
                result, staged = await work(db, session)
                results.append(result)
                events.extend(staged)
            return None, events

        batch_events = any(batched for _, batched in items)
        await self.runtime.commit(tenant, together, batch_events=batch_events)
        return list(results)
