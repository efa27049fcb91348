"""Idempotent consumers: the same event delivered twice is applied once."""

from __future__ import annotations

import uuid

import pytest
from wijkkracht_common import inbox
from wijkkracht_common.storage import Session, Storage

pytestmark = pytest.mark.integration


async def test_same_event_twice_is_applied_once(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-inbox")
    event_id = str(uuid.uuid4())

    async def apply(session: Session) -> bool:
        if not await inbox.claim(db, "counter", event_id, session=session):
            return False
        await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}, upsert=True, session=session)
        return True

    assert await storage.in_transaction(db, apply) is True
    assert await storage.in_transaction(db, apply) is False
    assert (await db.counters.find_one({"_id": "c"}))["n"] == 1


async def test_claims_are_per_consumer(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-inbox2")
    assert await inbox.claim(db, "a", "e1", session=None)
    assert await inbox.claim(db, "b", "e1", session=None)
    assert not await inbox.claim(db, "a", "e1", session=None)


async def test_batch_precheck_filters_seen_ids(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-inbox3")
    await inbox.claim_many(db, "batch", ["e1", "e2"], session=None)
    assert await inbox.unseen(db, "batch", ["e1", "e2", "e3", "e4"]) == ["e3", "e4"]
