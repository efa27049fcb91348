"""The erasure contract's shared parts (architecture §9): what every service does the same way
when identity publishes `person_erasure_requested`.

A service's `service/erasure.py` applies the request with `messaging.apply_once` and, in that
one transaction: deletes the person's records (repositories), calls
`consent.forget_person`, `access_log.anonymise_resident` (the log keeps its legal retention,
unlinked), and `remember_erased` — then answers `<Service>PersonDataErased` with counts.

`remember_erased` stores a one-way tombstone of the person (a hash of tenant and id, never
the id), so `apply_once(..., person=...)` drops late events about the erased person (a consent
revoked after the erasure, a response still in flight) instead of writing them back. Knowing
a person id, one can tell that it was erased here; nothing else is learnt from a tombstone.
Records kept for a legal retention get `retention_tombstone()`: random, so nothing links
them to the person or to each other across services.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.idempotency import IDEMPOTENCY
from wijkkracht_common.storage import Database, IndexSpec, Session

ERASED_PERSONS = "erased_persons"
ERASED_INDEXES = IndexSpec(ERASED_PERSONS)


def person_tombstone(tenant: str, person_id: str) -> str:
    """One-way and deterministic: the same person in the same tenant, the same tombstone."""
    return hashlib.sha256(f"wk-erased|{tenant}|{person_id}".encode()).hexdigest()


def retention_tombstone() -> str:
    """For records a legal retention keeps: random, links to nobody."""
    return f"erased-{new_event_id()}"


async def remember_erased(
    db: Database[dict[str, Any]], tenant: str, person_id: str, *, session: Session | None
) -> None:
    await db[ERASED_PERSONS].replace_one(
        {"_id": person_tombstone(tenant, person_id)},
        {"_id": person_tombstone(tenant, person_id), "at": datetime.now(UTC)},
        upsert=True,
        session=session,
    )


async def is_erased(
    db: Database[dict[str, Any]], tenant: str, person_id: str, *, session: Session | None
) -> bool:
    doc = await db[ERASED_PERSONS].find_one(
        {"_id": person_tombstone(tenant, person_id)}, session=session
    )
    return doc is not None


async def erased_among(
    db: Database[dict[str, Any]], tenant: str, persons: Iterable[str], *, session: Session | None
) -> set[str]:
    """The erased among `persons`: one query by their tombstones (`$in` on `_id`, the
    primary index on every engine) for a whole batch, not one `is_erased` per person."""
    tombstones = {person_tombstone(tenant, p): p for p in persons}
    if not tombstones:
        return set()
    found = db[ERASED_PERSONS].find(
        {"_id": {"$in": sorted(tombstones)}}, projection={"_id": 1}, session=session
    )
    return {tombstones[doc["_id"]] async for doc in found}


async def any_erased(db: Database[dict[str, Any]], *, session: Session | None) -> bool:
    """Whether this database remembers any erased person (most batches can skip the look-up)."""
    found = await db[ERASED_PERSONS].find_one({}, projection={"_id": 1}, session=session)
    return found is not None


async def forget_requests_of(
    db: Database[dict[str, Any]], person_id: str, *, session: Session | None
) -> int:
    """The stored results of the person's own requests (`Idempotency-Key` replays, scoped
    `<caller>:<route>:<key>`) are theirs: erasure deletes them. A range on `_id`, so it uses
    the primary index on every engine."""
    # ";" is the character after ":": every id that starts with "<person>:".
    result = await db[IDEMPOTENCY].delete_many(
        {"_id": {"$gte": f"{person_id}:", "$lt": f"{person_id};"}}, session=session
    )
    return int(result.deleted_count)
