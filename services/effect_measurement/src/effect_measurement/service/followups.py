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
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from wijkkracht_common.events.effect_measurement import FollowupDue
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.observability import get_logger
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.followups import WaitingMeasurement, add_months, superseded
from effect_measurement.service.ports import Db, RepositoryFactory, Runtime, reading
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
    def __init__(
        self,
        runtime: Runtime,
        settings: Settings,
        *,
        repositories: RepositoryFactory = MotorRepositories,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.repositories = repositories

    async def scan_tenant(self, tenant: str, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        repos = await reading(self.runtime, tenant, self.repositories)
        # Self-assessments are a conversation tool: nobody is chased for a new one.
        due = await repos.measurements.waiting_for_followup(
            due_before(self.settings, now), SCAN_LIMIT
        )
        persons = sorted({m.person_id for m in due if m.person_id})
        latest = await repos.measurements.latest_per_trajectory(persons) if persons else {}
        done = superseded(due, latest)
        if done:
            await self._clear(tenant, done)
        announced = 0
        for measurement in due:
            if measurement.measurement_id not in done:
                announced += await self._announce(tenant, measurement)
        return announced

    async def _clear(self, tenant: str, ids: Collection[str]) -> None:
        async def work(db: Db, session: Session) -> tuple[None, list[Envelope[Any]]]:
            await self.repositories(db, session, tenant).measurements.clear_followup_marks(ids)
            return None, []

        await self.runtime.commit(tenant, work)

    async def _announce(self, tenant: str, measurement: WaitingMeasurement) -> int:
        sequence = measurement.sequence + 1
        trajectory = measurement.trajectory_id
        event = new_event(
            FollowupDue(
                trajectory_id=trajectory,
                person_id=measurement.person_id,
                instrument_id=measurement.instrument_id,
                family=measurement.family,
                sequence=sequence,
                due_at=due_at(self.settings, measurement.submitted_at),
            ),
            tenant=tenant,
            subject=trajectory,
            organisation=measurement.organisation,
            actor="effect_measurement",
        ).model_copy(update={"id": followup_event_id(tenant, trajectory, sequence)})

        async def work(db: Db, session: Session) -> tuple[int, list[Envelope[Any]]]:
            measurements = self.repositories(db, session, tenant).measurements
            if await measurements.mark_followup_announced(measurement.measurement_id, sequence):
                return 1, [event]
            return 0, []

        return await self.runtime.commit(tenant, work)

    async def run_once(self) -> int:
        total = 0
        for tenant in await self.runtime.storage.tenants():
            total += await self.scan_tenant(tenant)
        return total
