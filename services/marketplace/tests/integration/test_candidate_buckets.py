"""Candidate buckets decoded once per revision (adapters/bucket_cache.py), on the real
embedded database, with two caches standing in for two replicas of the service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from marketplace.adapters.bucket_cache import DecodedBuckets
from marketplace.adapters.repositories import (
    Db,
    MongoRepository,
    offer_buckets,
)
from marketplace.domain.posts import Post, PostKind, PostStatus, Scope, Timing, When
from marketplace.domain.volunteers import VolunteerProfile
from motor.motor_asyncio import AsyncIOMotorClient
from wijkkracht_common.storage import Session, Storage
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


def offer(post_id: str, status: PostStatus = PostStatus.OPEN) -> Post:
    return Post(
        id=post_id,
        kind=PostKind.OFFER,
        category=ERRANDS,
        text="Ik doe boodschappen",
        neighbourhood_code="DM01",
        radius_km=2.0,
        when=When(timing=Timing.FLEXIBLE),
        scope=Scope.TENANT,
        owner_id=f"owner-{post_id}",
        posted_by=f"owner-{post_id}",
        status=status,
        created_at=NOW,
        expires_at=NOW + timedelta(days=30),
    )


async def offer_ids(db: Db) -> list[str]:
    found = await MongoRepository(db, decoded=DecodedBuckets()).open_offers([ERRANDS], "DM01")
    return sorted(o.id for o in found)


async def test_new_offers_join_a_bucket_without_reading_it_and_a_closed_one_leaves(
    db: Db,
) -> None:
    repo = MongoRepository(db, decoded=DecodedBuckets())
    await repo.add_posts([offer("o-1"), offer("o-2")])
    await repo.add_posts([offer("o-3")])
    assert await offer_ids(db) == ["o-1", "o-2", "o-3"]
    bucket = await db["candidate_buckets"].find_one({"_id": f"offer|{ERRANDS}|DM01"})
    assert bucket is not None and sorted(bucket["by_ref"]) == ["o-1", "o-2", "o-3"]

    await repo.save_post(offer("o-2", PostStatus.CANCELLED))
    assert await offer_ids(db) == ["o-1", "o-3"]


async def test_a_bucket_written_as_a_list_keeps_its_items_as_offers_join_and_leave(
    db: Db,
) -> None:
    # a bucket as written before `by_ref`: its items in a list
    [bucket] = offer_buckets([offer("old-1"), offer("old-2")])
    legacy = {"_id": bucket["_id"], "rev": bucket["rev"], "items": [*bucket["by_ref"].values()]}
    await db["candidate_buckets"].insert_one(legacy)
    repo = MongoRepository(db, decoded=DecodedBuckets())
    await repo.add_posts([offer("new-1")])
    assert await offer_ids(db) == ["new-1", "old-1", "old-2"]

    await repo.save_post(offer("old-1", PostStatus.DONE))
    assert await offer_ids(db) == ["new-1", "old-2"]
    rewritten = await db["candidate_buckets"].find_one({"_id": f"offer|{ERRANDS}|DM01"})
    assert rewritten is not None and "items" not in rewritten  # moved into `by_ref` when rewritten


async def test_replicas_adding_offers_at_once_lose_none(mongo_url: str, db: Db) -> None:
    """Concurrent publications, each in its own transaction, lose no offer."""
    storage = Storage(mongo_url, "marketplace_bucket_test")
    try:
        tx_db = storage.client[db.name]

        async def publish(i: int) -> None:
            async def work(session: Session) -> None:
                repo = MongoRepository(tx_db, session, decoded=DecodedBuckets())
                await repo.add_posts([offer(f"o-{i}")])

            await storage.in_transaction(tx_db, work)

        await asyncio.gather(*(publish(i) for i in range(12)))
    finally:
        storage.close()
    assert await offer_ids(db) == sorted(f"o-{i}" for i in range(12))


async def test_a_familys_candidates_read_together_are_those_read_one_by_one(db: Db) -> None:
    repo = MongoRepository(db, decoded=DecodedBuckets())
    await repo.save_volunteer(volunteer("p1"))
    await repo.add_posts([offer("o-1"), offer("o-2")])
    codes, hoods = [ERRANDS, "klussen"], ["DM01", "DM02"]
    together = await MongoRepository(db, decoded=DecodedBuckets()).family_candidates(codes, hoods)
    one_by_one = (
        [await repo.open_offers(codes, hood) for hood in hoods],
        await repo.helpers_for(codes),
        await repo.map_entries(codes),
    )
    assert together == one_by_one
    assert sorted(o.id for o in together[0][0]) == ["o-1", "o-2"] and together[0][1] == []
    assert [h.person_id for h in together[1]] == ["p1"]
