"""The shared erasure steps leave nothing that links back: the access log keeps its records
unlinked, the person's own request replays go, tombstones are one-way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from wijkkracht_common import access_log, erasure
from wijkkracht_common.auth import Principal
from wijkkracht_common.idempotency import IDEMPOTENCY
from wijkkracht_common.privacy_scan import scan_databases
from wijkkracht_common.storage import Storage

pytestmark = pytest.mark.integration


async def test_access_log_and_replays_keep_nothing_of_the_erased(
    storage: Storage, mongo_url: str
) -> None:
    tenant = f"er-{uuid.uuid4().hex[:6]}"
    resident, staff, other = (str(uuid.uuid4()) for _ in range(3))
    db = await storage.tenant_db(tenant)
    viewer = Principal(subject=staff, tenant=tenant, orgs={"welzijn": frozenset({"professional"})})
    for resource in ("response/r1", "response/r2"):
        await access_log.record_access(
            db,
            service="probe",
            principal=viewer,
            resident=resident,
            action="read",
            resource=resource,
            reason="conversation",
            on_behalf_of="welzijn",
        )
    await access_log.record_access(
        db,
        service="probe",
        principal=viewer,
        resident=other,
        action="read",
        resource="response/r3",
        reason="conversation",
        on_behalf_of="welzijn",
    )
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    await db[IDEMPOTENCY].insert_many(
        [
            {"_id": f"{resident}:responses:k1", "expires_at": expires},
            {"_id": f"{other}:responses:k2", "expires_at": expires},  # another caller
        ]
    )

    assert await access_log.anonymise_resident(db, resident, session=None) == 2
    assert await erasure.forget_requests_of(db, resident, session=None) == 1
    assert await access_log.anonymise_actor(db, staff, session=None) == 3
    await db["outbox"].delete_many({})  # access.recorded events: the streams' part (purge)

    for person in (resident, staff):
        assert await scan_databases(mongo_url, tenant, person) == [], person
    kept = await db[access_log.ACCESS_LOG].find({}).to_list(None)
    assert len(kept) == 3  # the legal retention: every record stays
    assert {d["resource"] for d in kept} == {"response/erased", "response/r3"}
    assert len({d["resident"] for d in kept if d["resident"] != other}) == 1
    assert all(d["on_behalf_of"] == "welzijn" for d in kept)
    await storage.drop_tenant(tenant)


def test_a_person_tombstone_is_one_way_and_per_tenant() -> None:
    person = str(uuid.uuid4())
    one = erasure.person_tombstone("a", person)
    assert one == erasure.person_tombstone("a", person)
    assert one != erasure.person_tombstone("b", person) and person not in one
    assert erasure.retention_tombstone() != erasure.retention_tombstone()


async def test_the_erased_among_a_batch_are_found_in_one_look_up(storage: Storage) -> None:
    tenant = f"erased-{uuid.uuid4().hex[:6]}"
    db = await storage.tenant_db(tenant)
    assert not await erasure.any_erased(db, session=None)
    assert await erasure.erased_among(db, tenant, [], session=None) == set()
    await erasure.remember_erased(db, tenant, "p1", session=None)
    await erasure.remember_erased(db, tenant, "p3", session=None)
    assert await erasure.any_erased(db, session=None)
    found = await erasure.erased_among(db, tenant, ["p1", "p2", "p3", "p4"], session=None)
    assert found == {"p1", "p3"}
    # Tombstones are per tenant: the same ids in another tenant's name are not erased.
    assert await erasure.erased_among(db, "other", ["p1", "p3"], session=None) == set()
    await storage.drop_tenant(tenant)
