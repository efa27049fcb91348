"""Group commit without I/O: batching (by count and by size), one outcome per item, a failed
batch retried item by item, the refusal after `close()`, `wait_idle`, and cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from wijkkracht_common.errors import ServiceUnavailable
from wijkkracht_common.group_commit import (
    MAX_BATCH,
    BatchWriter,
    GroupCommit,
    SharedCommits,
    stopping,
)

pytestmark = pytest.mark.unit
T = "zaanstreek"


class Refused(Exception):
    """One item's own outcome, decided inside the batch's transaction."""


class Writer:
    """A batch writer that records its batches; it can be held at the start of a batch."""

    def __init__(self, *, fail_batches_with: str | None = None) -> None:
        self.batches: list[tuple[str, list[str]]] = []
        self.fail_batches_with = fail_batches_with  # a batch holding it raises as a whole
        self.began = asyncio.Event()
        self.go_on = asyncio.Event()
        self.go_on.set()

    def hold(self) -> None:
        self.began.clear()
        self.go_on.clear()

    async def held(
        self, commit: GroupCommit[str, str], item: str, *then: str
    ) -> list[asyncio.Task[str]]:
        """`item` submitted and its batch held while being written, then `then` queued."""
        self.hold()
        tasks = [asyncio.create_task(commit.submit(T, item))]
        await self.began.wait()
        tasks += [asyncio.create_task(commit.submit(T, x)) for x in then]
        await settle()
        return tasks

    async def __call__(self, tenant: str, items: list[str]) -> Sequence[str | BaseException]:
        self.batches.append((tenant, list(items)))
        self.began.set()
        await self.go_on.wait()
        if self.fail_batches_with in items:
            raise RuntimeError(f"batch of {len(items)} failed")
        return [Refused(i) if i.startswith("refused") else i.upper() for i in items]


def group(
    writer: BatchWriter[str, str],
    *,
    max_batch: int = MAX_BATCH,
    size: Callable[[str], int] = lambda _: 1,
    alone: Callable[[Exception], BaseException] = lambda error: error,
    name: str = "group-commit",
) -> GroupCommit[str, str]:
    return GroupCommit(
        writer,
        refusal=lambda: stopping(7),
        max_batch=max_batch,
        size=size,
        alone=alone,
        name=name,
    )


async def settle() -> None:
    """Let the ready tasks run: ten rounds of the event loop, no timing involved."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_an_idle_tenant_starts_at_once_and_later_items_share_the_next_batch() -> None:
    writer = Writer()
    commit = group(writer)
    assert await commit.submit(T, "a") == "A"  # alone: no waiting for company
    callers = await writer.held(commit, "b", "c", "d", "e")
    writer.go_on.set()
    assert await asyncio.gather(*callers) == ["B", "C", "D", "E"]
    assert writer.batches == [(T, ["a"]), (T, ["b"]), (T, ["c", "d", "e"])]
    assert commit.transactions == 3 and not commit.busy


async def test_batches_hold_at_most_max_batch_units_of_size() -> None:
    writer = Writer()
    commit = group(writer, max_batch=2)
    assert await asyncio.gather(*(commit.submit(T, x) for x in "abcde")) == list("ABCDE")
    assert [b for _, b in writer.batches] == [["a", "b"], ["c", "d"], ["e"]]

    sized = Writer()
    by_length = group(sized, max_batch=5, size=len)
    items = ["aaa", "bb", "cccccccc", "d", "eeee"]  # the 8-unit item is larger than a batch
    assert await asyncio.gather(*(by_length.submit(T, x) for x in items)) == [
        i.upper() for i in items
    ]
    assert [b for _, b in sized.batches] == [["aaa", "bb"], ["cccccccc"], ["d", "eeee"]]


async def test_each_item_gets_its_own_outcome_from_the_batch() -> None:
    writer = Writer()
    commit = group(writer)
    results = await asyncio.gather(
        *(commit.submit(T, x) for x in ("a", "refused-b", "c")), return_exceptions=True
    )
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], Refused) and results[1].args == ("refused-b",)
    assert len(writer.batches) == 1  # decided inside the batch: no retry


async def test_a_failed_batch_is_retried_item_by_item() -> None:
    """The failure stays with its cause; the others commit."""
    writer = Writer(fail_batches_with="poison")
    mapped: list[Exception] = []

    def alone(error: Exception) -> Exception:
        mapped.append(error)
        return ValueError(f"alone: {error}")

    commit = group(writer, alone=alone)
    results = await asyncio.gather(
        *(commit.submit(T, x) for x in ("a", "poison", "refused-c", "d")), return_exceptions=True
    )
    assert results[0] == "A" and results[3] == "D"
    assert isinstance(results[1], ValueError) and str(results[1]) == "alone: batch of 1 failed"
    assert isinstance(results[2], Refused)  # its own outcome, not mapped
    assert [b for _, b in writer.batches] == [
        ["a", "poison", "refused-c", "d"],
        ["a"],
        ["poison"],
        ["refused-c"],
        ["d"],
    ]
    assert len(mapped) == 1 and commit.transactions == 5


async def test_a_writer_giving_the_wrong_number_of_outcomes_fails_each_item_once() -> None:
    """Its batch committed: writing the items again could store them twice."""
    batches: list[list[str]] = []

    async def short(tenant: str, items: list[str]) -> list[str]:
        batches.append(items)
        return items[1:]

    commit = group(short)
    results = await asyncio.gather(
        commit.submit(T, "a"), commit.submit(T, "b"), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert batches == [["a", "b"]]


async def test_tenants_are_grouped_apart_and_written_side_by_side() -> None:
    writer = Writer()
    commit = group(writer)
    writer.hold()
    in_a = asyncio.create_task(commit.submit("a", "x"))
    in_b = asyncio.create_task(commit.submit("b", "y"))
    await settle()
    # Both tenants' first batches began while neither had finished.
    assert sorted(writer.batches) == [("a", ["x"]), ("b", ["y"])]
    writer.go_on.set()
    assert list(await asyncio.gather(in_a, in_b)) == ["X", "Y"]


async def test_close_refuses_new_items_and_lets_the_queued_ones_commit() -> None:
    writer = Writer()
    commit = group(writer)
    running, queued = await writer.held(commit, "a", "b")
    commit.close()
    with pytest.raises(ServiceUnavailable) as refused:
        await commit.submit(T, "c")
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "7"}
    assert refused.value.kind == "service-stopping"
    idle = asyncio.create_task(commit.wait_idle())
    await settle()
    assert commit.busy and commit.closed and not idle.done() and not running.done()
    writer.go_on.set()
    await idle
    assert list(await asyncio.gather(running, queued)) == ["A", "B"]
    assert not commit.busy
    assert [b for _, b in writer.batches] == [["a"], ["b"]]  # "c" never reached the writer


async def test_stop_closes_and_waits() -> None:
    writer = Writer()
    commit = group(writer)
    [running] = await writer.held(commit, "a")
    stopping_ = asyncio.create_task(commit.stop())
    await settle()
    assert commit.closed and not stopping_.done()
    writer.go_on.set()
    await stopping_
    assert running.done() and running.result() == "A"


async def test_a_caller_that_goes_away_does_not_take_its_item_out_of_the_batch() -> None:
    writer = Writer()
    commit = group(writer)
    [caller] = await writer.held(commit, "a")
    caller.cancel()
    writer.go_on.set()
    await commit.wait_idle()
    assert caller.cancelled()
    assert writer.batches == [(T, ["a"])]


async def test_cancelling_a_drain_task_cancels_its_batch_and_what_is_queued() -> None:
    writer = Writer()
    commit = group(writer)
    running, queued = await writer.held(commit, "a", "b")
    for task in asyncio.all_tasks():
        if task.get_name() == f"group-commit-{T}":
            task.cancel()
    await commit.wait_idle()
    for caller in (running, queued):
        with pytest.raises(asyncio.CancelledError):
            await caller
    assert not commit.busy
    # The tenant starts afresh afterwards.
    writer.go_on.set()
    assert await commit.submit(T, "c") == "C"


async def test_cancelled_while_retrying_alone_cancels_the_items_not_yet_retried() -> None:
    batches: list[list[str]] = []
    stuck = asyncio.Event()

    async def write(tenant: str, items: list[str]) -> list[str]:
        batches.append(items)
        if len(items) > 1:
            raise RuntimeError("the batch failed")
        if items == ["b"]:  # "b" alone never finishes: the shutdown cancels it
            stuck.set()
            await asyncio.Event().wait()
        return [i.upper() for i in items]

    commit = group(write, name="retry")
    callers = [asyncio.create_task(commit.submit(T, x)) for x in "abc"]
    await stuck.wait()
    callers.append(asyncio.create_task(commit.submit(T, "d")))  # queued behind the retries
    await settle()
    next(t for t in asyncio.all_tasks() if t.get_name() == f"retry-{T}").cancel()
    await commit.wait_idle()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert outcomes[0] == "A"
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes[1:])
    assert batches == [["a", "b", "c"], ["a"], ["b"]]
    assert not commit.busy


async def test_a_drain_task_cancelled_before_it_began_leaves_nothing_waiting() -> None:
    writer = Writer()
    commit = group(writer, name="early")
    caller = asyncio.create_task(commit.submit(T, "a"))
    await asyncio.sleep(0)  # the caller queued its item; the drain task has not run yet
    drain = next(t for t in asyncio.all_tasks() if t.get_name() == f"early-{T}")
    drain.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await settle()
    assert not commit.busy and writer.batches == []


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        group(Writer(), max_batch=0)


class _Runtime:
    """`runtime.commit` in memory: runs the work once per transaction, records its events."""

    storage: Any = None

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.gate = asyncio.Event()

    async def commit(self, tenant: str, work: Any, *, batch_events: bool = False) -> Any:
        await self.gate.wait()
        result, events = await work(None, None)
        self.transactions.append(list(events))
        return result


def _work(name: str, *, fail: bool = False) -> Any:
    async def work(db: Any, session: Any) -> tuple[str, list[str]]:
        if fail:
            raise ValueError(f"{name} refused")
        return f"{name} done", [f"{name} event"]

    return work


async def test_shared_commits_put_concurrent_works_in_one_transaction() -> None:
    runtime = _Runtime()
    shared = SharedCommits(runtime)
    first = asyncio.create_task(shared.commit("t", _work("a"), batch_events=True))
    await asyncio.sleep(0)  # a's transaction starts and waits at the gate
    rest = [asyncio.create_task(shared.commit("t", _work(n))) for n in ("b", "c")]
    await asyncio.sleep(0)
    runtime.gate.set()
    assert await first == "a done"
    assert [await task for task in rest] == ["b done", "c done"]
    # a alone (it started at once), then b and c together, each result to its own caller.
    assert runtime.transactions == [["a event"], ["b event", "c event"]]


async def test_a_failing_work_fails_alone_in_shared_commits() -> None:
    runtime = _Runtime()
    shared = SharedCommits(runtime)
    first = asyncio.create_task(shared.commit("t", _work("a")))
    await asyncio.sleep(0)
    good = asyncio.create_task(shared.commit("t", _work("b")))
    bad = asyncio.create_task(shared.commit("t", _work("x", fail=True)))
    await asyncio.sleep(0)
    runtime.gate.set()
    await first
    assert await good == "b done"
    with pytest.raises(ValueError, match="x refused"):
        await bad
    # The shared transaction failed; b was then committed alone, its event once.
    assert runtime.transactions == [["a event"], ["b event"]]
