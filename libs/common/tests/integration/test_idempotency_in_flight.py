"""Idempotency-Key while the first request runs, and after it failed without freeing its key
(the database went away meanwhile)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wijkkracht_common.errors import Conflict, problem_response
from wijkkracht_common.idempotency import IDEMPOTENCY, fingerprint, idempotent
from wijkkracht_common.storage import Database, Storage

pytestmark = pytest.mark.integration


class Producer:
    """A use case that counts its runs and can be held until released."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()

    async def __call__(self) -> tuple[int, Any]:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        return 201, {"id": f"r{self.runs}"}


async def test_a_retry_in_flight_gets_409_then_the_first_result(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-inflight")
    produce = Producer()
    produce.release.clear()
    first = asyncio.create_task(
        idempotent(db, key="k", scope="p1:create", body={"a": 1}, produce=produce)
    )
    await produce.started.wait()

    with pytest.raises(Conflict) as in_flight:
        await idempotent(db, key="k", scope="p1:create", body={"a": 1}, produce=produce)
    assert in_flight.value.kind == "idempotency-in-progress"
    response = problem_response(in_flight.value)
    assert response.status_code == 409 and response.headers["retry-after"] == "1"

    produce.release.set()
    assert json.loads((await first).body) == {"id": "r1"}
    again = await idempotent(db, key="k", scope="p1:create", body={"a": 1}, produce=produce)
    assert again.status_code == 201 and json.loads(again.body) == {"id": "r1"}
    assert again.headers["idempotent-replay"] == "true" and produce.runs == 1


async def stuck_first_attempt(
    db: Database[dict[str, Any]], doc_id: str, body: Any, **record: Any
) -> None:
    """The record a first request leaves when it fails and cannot free its key (the database
    went away before the delete)."""
    now = datetime.now(UTC)
    await db[IDEMPOTENCY].insert_one(
        {
            "_id": doc_id,
            "fingerprint": fingerprint(body),
            "state": "running",
            "created_at": now,
            "expires_at": now + timedelta(hours=24),
            **record,
        }
    )


async def test_a_key_left_running_is_free_again_after_its_lease(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-lease")
    produce = Producer()
    body = {"a": 1}
    await stuck_first_attempt(
        db, "p1:create:live", body, attempt="first", lease_until=time.time() + 3600
    )
    await stuck_first_attempt(
        db, "p1:create:lapsed", body, attempt="first", lease_until=time.time() - 1
    )

    with pytest.raises(Conflict):  # still within the first attempt's lease
        await idempotent(db, key="live", scope="p1:create", body=body, produce=produce)
    taken = await idempotent(db, key="lapsed", scope="p1:create", body=body, produce=produce)
    assert taken.status_code == 201 and produce.runs == 1
    replay = await idempotent(db, key="lapsed", scope="p1:create", body=body, produce=produce)
    assert json.loads(replay.body) == {"id": "r1"} and produce.runs == 1


async def test_a_record_from_before_leases_lapses_from_its_creation(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-legacy")
    produce = Producer()
    await stuck_first_attempt(db, "p1:create:old", {}, created_at=datetime.now(UTC))
    with pytest.raises(Conflict):
        await idempotent(db, key="old", scope="p1:create", body={}, produce=produce)
    taken = await idempotent(
        db, key="old", scope="p1:create", body={}, produce=produce, lease_seconds=0.0
    )
    assert taken.status_code == 201 and produce.runs == 1


async def test_one_retry_takes_over_a_lapsed_key_the_others_wait(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-takeover")
    await stuck_first_attempt(db, "p1:create:k", {}, attempt="first", lease_until=0.0)
    produce = Producer()
    produce.release.clear()
    winner = asyncio.create_task(
        idempotent(db, key="k", scope="p1:create", body={}, produce=produce)
    )
    await produce.started.wait()
    with pytest.raises(Conflict):  # the winner holds a fresh lease
        await idempotent(db, key="k", scope="p1:create", body={}, produce=produce)
    produce.release.set()
    assert (await winner).status_code == 201 and produce.runs == 1


async def test_a_failed_attempt_does_not_free_a_key_another_took_over(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-release")
    await stuck_first_attempt(db, "p1:create:k", {}, attempt="first", lease_until=0.0)

    async def boom() -> tuple[int, Any]:
        # meanwhile (its lease lapsed too) another retry took the key over
        await db[IDEMPOTENCY].update_one({"_id": "p1:create:k"}, {"$set": {"attempt": "other"}})
        raise RuntimeError("failed")

    with pytest.raises(RuntimeError):
        await idempotent(db, key="k", scope="p1:create", body={}, produce=boom)
    record = await db[IDEMPOTENCY].find_one({"_id": "p1:create:k"})
    assert record is not None and record["attempt"] == "other"
