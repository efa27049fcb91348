"""Idempotent-consumer guard (architecture §4): apply an event at most once per consumer.

Claim the event id in the SAME transaction as the effect: if the claim exists, the event was
applied before and the handler acks without a second effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from wijkkracht_common.storage import (
    ASCENDING,
    Database,
    DuplicateKeyError,
    IndexModel,
    IndexSpec,
    Session,
)

INBOX = "inbox"

INBOX_INDEXES = IndexSpec(INBOX, (IndexModel([("at", ASCENDING)]),))


def _key(consumer: str, event_id: str) -> str:
    return f"{consumer}:{event_id}"


async def claim(
    db: Database[dict[str, Any]], consumer: str, event_id: str, *, session: Session | None
) -> bool:
    """True if this consumer has not applied the event before (the claim is now stored)."""
    try:
        await db[INBOX].insert_one(
            {"_id": _key(consumer, event_id), "at": datetime.now(UTC)}, session=session
        )
    except DuplicateKeyError:
        return False
    return True


async def unseen(
    db: Database[dict[str, Any]], consumer: str, event_ids: Sequence[str]
) -> list[str]:
    """The ids of `event_ids` this consumer has not applied yet (batch pre-check)."""
    keys = [_key(consumer, i) for i in event_ids]
    seen = {
        doc["_id"] async for doc in db[INBOX].find({"_id": {"$in": keys}}, projection={"_id": 1})
    }
    return [i for i, k in zip(event_ids, keys, strict=True) if k not in seen]


async def claim_many(
    db: Database[dict[str, Any]],
    consumer: str,
    event_ids: Sequence[str],
    *,
    session: Session | None,
) -> None:
    """Record a batch of claims inside the batch's transaction (call `unseen` first);
    a concurrent duplicate makes the insert fail and the transaction is retried."""
    if event_ids:
        now = datetime.now(UTC)
        await db[INBOX].insert_many(
            [{"_id": _key(consumer, i), "at": now} for i in event_ids],
            ordered=True,
            session=session,
        )
