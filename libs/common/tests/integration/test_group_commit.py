"""Group commit on the real embedded database: concurrent items share transactions, each gets
its own outcome, a batch the database refuses is retried item by item (the duplicate alone
fails, the others are stored once), tenants are written apart, and after `close()` the queued
items are stored while new ones are refused before anything is written."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from wijkkracht_common.errors import Conflict, ServiceUnavailable
from wijkkracht_common.group_commit import GroupCommit, stopping
from wijkkracht_common.storage import Session, Storage

pytestmark = pytest.mark.integration

THINGS = "things"
A, B = "tenant-a", "tenant-b"


class Negative(Exception):
    """An item refused inside the transaction; the rest of its batch is stored."""


def thing(n: int) -> dict[str, Any]:
    return {"_id": uuid.uuid4().hex, "n": n}


def things_writer(storage: Storage) -> Any:
    async def write(tenant: str, items: list[dict[str, Any]]) -> list[str | Exception]:
        db = await storage.tenant_db(tenant)

        async def insert(session: Session) -> list[str | Exception]:
            outcomes: list[str | Exception] = []
            keep = []
            for item in items:
                if item["n"] < 0:
                    outcomes.append(Negative(item["_id"]))
                else:
                    keep.append(item)
                    outcomes.append(item["_id"])
            if keep:
                await db[THINGS].insert_many([dict(i) for i in keep], session=session)
            return outcomes

        return await storage.in_transaction(db, insert)

    return write


def conflict(error: Exception) -> BaseException:
    return Conflict(f"refused alone: {type(error).__name__}")


def group_commit(storage: Storage) -> GroupCommit[dict[str, Any], str]:
    return GroupCommit(things_writer(storage), refusal=lambda: stopping(3), alone=conflict)


async def stored(storage: Storage, tenant: str) -> list[dict[str, Any]]:
    db = await storage.tenant_db(tenant)
    return [d async for d in db[THINGS].find({})]


async def test_concurrent_items_share_transactions_and_each_gets_its_outcome(
    storage: Storage,
) -> None:
    commit = group_commit(storage)
    items = [thing(n) for n in range(40)]
    items[7]["n"] = -1
    outcomes = await asyncio.gather(*(commit.submit(A, i) for i in items), return_exceptions=True)
    assert isinstance(outcomes[7], Negative)
    assert [o for k, o in enumerate(outcomes) if k != 7] == [
        i["_id"] for k, i in enumerate(items) if k != 7
    ]
    assert commit.transactions < len(items)  # grouped
    ids = sorted(d["_id"] for d in await stored(storage, A))
    assert ids == sorted(i["_id"] for k, i in enumerate(items) if k != 7)


async def test_a_batch_the_database_refuses_is_stored_item_by_item(storage: Storage) -> None:
    commit = group_commit(storage)
    first = thing(1)
    assert await commit.submit(A, first) == first["_id"]
    again = {**first, "n": 2}  # the same _id: the whole batch's insert fails
    fresh = [thing(n) for n in range(3, 8)]
    before = commit.transactions
    outcomes = await asyncio.gather(
        *(commit.submit(A, i) for i in [fresh[0], fresh[1], again, *fresh[2:]]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[2], Conflict)
    assert [o for k, o in enumerate(outcomes) if k != 2] == [i["_id"] for i in fresh]
    # all six queued before the first transaction: the failed batch, then each alone
    assert commit.transactions - before == 1 + 6
    docs = await stored(storage, A)
    assert sorted(d["_id"] for d in docs) == sorted([first["_id"], *(i["_id"] for i in fresh)])
    assert next(d for d in docs if d["_id"] == first["_id"])["n"] == 1  # the first kept


async def test_tenants_are_written_apart(storage: Storage) -> None:
    commit = group_commit(storage)
    in_a = [thing(n) for n in range(5)]
    in_b = [thing(n) for n in range(5)]
    await asyncio.gather(*(commit.submit(A, i) for i in in_a), *(commit.submit(B, i) for i in in_b))
    assert sorted(d["_id"] for d in await stored(storage, A)) == sorted(i["_id"] for i in in_a)
    assert sorted(d["_id"] for d in await stored(storage, B)) == sorted(i["_id"] for i in in_b)


async def test_closed_the_queued_items_are_stored_and_new_ones_refused(storage: Storage) -> None:
    commit = group_commit(storage)
    queued = [thing(n) for n in range(6)]
    calls = [asyncio.create_task(commit.submit(A, i)) for i in queued]
    await asyncio.sleep(0)  # every item queued
    assert commit.busy
    commit.close()
    late = thing(99)
    with pytest.raises(ServiceUnavailable) as refused:
        await commit.submit(A, late)
    assert refused.value.headers == {"Retry-After": "3"}
    await commit.wait_idle()
    assert [c.result() for c in calls] == [i["_id"] for i in queued]
    ids = {d["_id"] for d in await stored(storage, A)}
    assert ids == {i["_id"] for i in queued}
