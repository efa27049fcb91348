"""Follow-up scheduler: announce `followup_due` when a trajectory's next measurement is due.

A periodic task (started in the lifespan) scans each tenant for measurements that still wait
for their follow-up and are older than the schedule. Idempotent twice over: the marker is
cleared in the same transaction that stages the event, and the event id is derived from
(trajectory, sequence), so the outbox (and JetStream's duplicate window) refuse a second one.

Ingestion marks a trajectory's latest measurement as waiting (`followup_pending`) but does not
clear the mark of the one it supersedes: that would be a second write per early follow-up on
the hottest path. The scheduler checks instead, once a marked measurement comes due, whether
its trajectory has a later one; if so it clears the mark without announcing anything.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from wijkkracht_common.events.effect_measurement import FollowupDue
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.observability import get_logger
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session

from effect_measurement.adapters.schema import MEASUREMENTS
from effect_measurement.domain.followups import add_months
from effect_measurement.domain.inputs import InstrumentKind
from effect_measurement.settings import Settings

log = get_logger(__name__)
_NAMESPACE = uuid.UUID("6f1d7a4e-1c0b-4c55-9a55-6b1f0c2f7e01")
SCAN_LIMIT = 500


def followup_event_id(tenant: str, trajectory: str, sequence: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}|{trajectory}|{sequence}"))


def due_before(settings: Settings, now: datetime) -> datetime:
    """Measurements submitted at or before this moment have a follow-up due now."""
    if settings.followup_after_seconds is not None:
        return now - timedelta(seconds=settings.followup_after_seconds)
    return add_months(now, -settings.followup_months)


def due_at(settings: Settings, submitted_at: datetime) -> datetime:
    if settings.followup_after_seconds is not None:
        return submitted_at + timedelta(seconds=settings.followup_after_seconds)
    return add_months(submitted_at, settings.followup_months)


class FollowupScheduler:
    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self.runtime = runtime
        self.settings = settings

    async def scan_tenant(self, tenant: str, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        db = await self.runtime.storage.tenant_db(tenant)
        # Self-assessments are a conversation tool: nobody is chased for a new one.
        due = (
            await db[MEASUREMENTS]
            .find(
                {
                    "followup_pending": True,
                    "kind": InstrumentKind.MEASUREMENT.value,
                    "submitted_at": {"$lte": due_before(self.settings, now)},
                }
            )
            .limit(SCAN_LIMIT)
            .to_list(None)
        )
        superseded = await _superseded(db, due)
        if superseded:
            await self._clear(tenant, superseded)
        announced = 0
        for doc in due:
            if doc["_id"] not in superseded:
                announced += await self._announce(tenant, doc)
        return announced

    async def _clear(self, tenant: str, ids: set[str]) -> None:
        async def work(
            db: Database[dict[str, Any]], session: Session
        ) -> tuple[None, list[Envelope[Any]]]:
            await db[MEASUREMENTS].update_many(
                {"_id": {"$in": sorted(ids)}, "followup_pending": True},
                {"$set": {"followup_pending": False}},
                session=session,
            )
            return None, []

        await self.runtime.commit(tenant, work)

    async def _announce(self, tenant: str, doc: dict[str, Any]) -> int:
        sequence = int(doc["sequence"]) + 1
        event = new_event(
            FollowupDue(
                trajectory_id=doc["trajectory_id"],
                person_id=doc["person_id"],
                instrument_id=doc["instrument_id"],
                family=doc["family"],
                sequence=sequence,
                due_at=due_at(self.settings, doc["submitted_at"]),
            ),
            tenant=tenant,
            subject=doc["trajectory_id"],
            organisation=doc.get("organisation"),
            actor="effect_measurement",
        ).model_copy(update={"id": followup_event_id(tenant, doc["trajectory_id"], sequence)})

        async def work(
            db: Database[dict[str, Any]], session: Session
        ) -> tuple[int, list[Envelope[Any]]]:
            result = await db[MEASUREMENTS].update_one(
                {"_id": doc["_id"], "followup_pending": True},
                {"$set": {"followup_pending": False, "followup_announced": sequence}},
                session=session,
            )
            return (1, [event]) if result.modified_count else (0, [])

        return await self.runtime.commit(tenant, work)

    async def run_once(self) -> int:
        total = 0
        for tenant in await self.runtime.storage.tenants():
            total += await self.scan_tenant(tenant)
        return total


async def _superseded(db: Database[dict[str, Any]], due: list[dict[str, Any]]) -> set[str]:
    """The due measurements whose trajectory has a later measurement (no follow-up needed)."""
    persons = sorted({doc["person_id"] for doc in due if doc.get("person_id")})
    if not persons:
        return set()
    latest: dict[str, datetime] = {}
    async for doc in db[MEASUREMENTS].find(
        {"person_id": {"$in": persons}}, projection={"trajectory_id": 1, "submitted_at": 1}
    ):
        trajectory, at = doc.get("trajectory_id"), doc["submitted_at"]
        if trajectory and (trajectory not in latest or at > latest[trajectory]):
            latest[trajectory] = at
    return {
        doc["_id"]
        for doc in due
        if latest.get(doc["trajectory_id"], doc["submitted_at"]) > doc["submitted_at"]
    }
