"""Candidate buckets decoded once per revision (adapters/bucket_cache.py), on the real
embedded database, with two caches standing in for two replicas of the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from marketplace.adapters.bucket_cache import DecodedBuckets
from marketplace.adapters.repositories import Db, MongoRepository
from marketplace.domain.volunteers import VolunteerProfile
from motor.motor_asyncio import AsyncIOMotorClient
from wijkkracht_common.testing.plugin import TwoTenants

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ERRANDS = "boodschappen"


def volunteer(pid: str, *, active: bool = True, email: str | None = None) -> VolunteerProfile:
    return VolunteerProfile(
        person_id=pid,
        categories=[ERRANDS],
        neighbourhood_code="DM01",
        active=active,
        email=email,
        updated_at=NOW,
    )


@pytest.fixture
async def db(mongo_url: str, two_tenants: TwoTenants) -> AsyncIterator[Db]:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(mongo_url)
    try:
        yield client[f"wk_marketplace_{two_tenants.a}"]
    finally:
        client.close()


async def test_a_bucket_is_read_whole_again_only_after_it_changed(db: Db) -> None:
    here, there = DecodedBuckets(), DecodedBuckets()  # two replicas
    await MongoRepository(db, decoded=there).save_volunteer(volunteer("p1"))

    first = await MongoRepository(db, decoded=here).helpers_for([ERRANDS])
    again = await MongoRepository(db, decoded=here).helpers_for([ERRANDS])
    assert [h.person_id for h in first] == ["p1"]
    assert again[0] is first[0]  # decoded once: the second read asked for the revision only

    # the other replica adds a volunteer and one stops: seen here at the next read
    await MongoRepository(db, decoded=there).save_volunteer(volunteer("p2"))
    await MongoRepository(db, decoded=there).save_volunteer(volunteer("p1", active=False))
    after = await MongoRepository(db, decoded=here).helpers_for([ERRANDS])
    assert [h.person_id for h in after] == ["p2"]


async def test_a_write_in_this_process_drops_what_it_kept(db: Db) -> None:
    cache = DecodedBuckets()
    repo = MongoRepository(db, decoded=cache)
    await repo.save_volunteer(volunteer("p1", email="p1@example.test"))
    assert [h.email for h in await repo.helpers_for([ERRANDS])] == ["p1@example.test"]
    assert len(cache) == 1

    await repo.erase_person("p1", "tombstone")
    assert len(cache) == 0  # the erased address is not kept in this process either
    assert await repo.helpers_for([ERRANDS]) == []


async def test_a_database_made_again_under_the_same_name_is_not_confused(db: Db) -> None:
    cache = DecodedBuckets()
    await MongoRepository(db, decoded=cache).save_volunteer(volunteer("p1"))
    assert [h.person_id for h in await MongoRepository(db, decoded=cache).helpers_for([ERRANDS])]
    await db.client.drop_database(db.name)
    # the same state written again: a counter would repeat its revision, a random one does not
    await MongoRepository(db, decoded=DecodedBuckets()).save_volunteer(volunteer("p9"))
    found = await MongoRepository(db, decoded=cache).helpers_for([ERRANDS])
    assert [h.person_id for h in found] == ["p9"]


async def test_buckets_written_before_revisions_are_read_whole(db: Db) -> None:
    cache = DecodedBuckets()
    item = {"ref": "p1", "hood": "DM01", "categories": [ERRANDS], "radius_km": 3.0}
    item |= {"responsiveness": 0.5, "notify": "none"}
    await db["candidate_buckets"].insert_one({"_id": f"helper|{ERRANDS}", "items": [item]})
    found = await MongoRepository(db, decoded=cache).helpers_for([ERRANDS])
    assert [h.person_id for h in found] == ["p1"]
    assert len(cache) == 0
