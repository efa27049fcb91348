"""The person-data epoch: a counter that every transaction writing what ingestion reads
ahead advances: measurements (ingestion, erasure) and interventions.

Ingestion keeps the histories it read and wrote in memory (`ingest.HistoryCache`); inside each
batch's transaction it reads the epoch: when it is the one its own last commit left, nothing
else changed measurements and the cached histories are exact; otherwise it drops them and reads
again. On MongoDB the shared counter document also turns concurrent writers (replicas) into
write conflicts, so one of them retries.
"""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne
from wijkkracht_common.storage import Database, Session

from effect_measurement.adapters.schema import SETTINGS

EPOCH = "person_data_epoch"  # SETTINGS document id


async def read_epoch(db: Database[dict[str, Any]], session: Session | None = None) -> int:
    doc = await db[SETTINGS].find_one({"_id": EPOCH}, session=session)
    return int(doc["epoch"]) if doc else 0


def epoch_advance() -> UpdateOne:
    """The `SETTINGS` write of `advance_epoch`, for a bulk write with other settings."""
    return UpdateOne({"_id": EPOCH}, {"$inc": {"epoch": 1}}, upsert=True)


async def advance_epoch(db: Database[dict[str, Any]], session: Session) -> None:
    """Call inside every transaction that writes measurements or interventions."""
    await db[SETTINGS].bulk_write([epoch_advance()], session=session)
