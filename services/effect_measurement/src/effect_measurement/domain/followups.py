"""Follow-up schedule: the next measurement is due some months after the previous one."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from effect_measurement.domain.inputs import InstrumentKind
from effect_measurement.domain.trajectories import Trajectory, TrajectoryKey

DEFAULT_FOLLOWUP_MONTHS = 3


@dataclass(frozen=True, slots=True)
class FollowUpSchedule:
    default_months: int = DEFAULT_FOLLOWUP_MONTHS
    # Per instrument family; None switches follow-ups off for that family.
    per_family: Mapping[str, int | None] = field(default_factory=dict)

    def months_for(self, trajectory: Trajectory) -> int | None:
        if trajectory.key.family in self.per_family:
            return self.per_family[trajectory.key.family]
        # The spider web is a conversation tool; nobody is chased for a new one by default.
        if trajectory.kind is InstrumentKind.SELF_ASSESSMENT:
            return None
        return self.default_months


@dataclass(frozen=True, slots=True)
class FollowUpDue:
    trajectory: TrajectoryKey
    sequence: int  # 1 = first follow-up after the baseline
    due_at: datetime


def add_months(moment: datetime, months: int) -> datetime:
    """Same day-of-month ``months`` later, clamped to the month's end (31 Jan + 1 = 28 Feb)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def next_followup(trajectory: Trajectory, schedule: FollowUpSchedule) -> FollowUpDue | None:
    months = schedule.months_for(trajectory)
    if months is None or not trajectory.points:
        return None
    sequence = len(trajectory.points)  # points = baseline + follow-ups so far
    due_at = add_months(trajectory.points[-1].submitted_at, months)
    return FollowUpDue(trajectory.key, sequence, due_at)


def due_followups(
    trajectories: Iterable[Trajectory],
    now: datetime,
    schedule: FollowUpSchedule | None = None,
) -> list[FollowUpDue]:
    """Follow-ups that became due and were not announced yet (one per trajectory at most).

    Record the result with ``mark_notified`` in the same change that emits ``followup_due``,
    so a (trajectory, sequence) is announced once even when the scan runs again.
    """
    schedule = schedule or FollowUpSchedule()
    due: list[FollowUpDue] = []
    for trajectory in trajectories:
        candidate = next_followup(trajectory, schedule)
        if (
            candidate is not None
            and candidate.due_at <= now
            and candidate.sequence not in trajectory.notified_followups
        ):
            due.append(candidate)
    return sorted(due, key=lambda d: (d.due_at, d.trajectory))


def mark_notified(trajectory: Trajectory, sequence: int) -> Trajectory:
    return replace(trajectory, notified_followups=trajectory.notified_followups | {sequence})


@dataclass(frozen=True, slots=True)
class WaitingMeasurement:
    """A stored measurement still waiting for its follow-up (the latest of its trajectory
    when it arrived), as the scheduler reads it."""

    measurement_id: str
    trajectory_id: str
    person_id: str
    organisation: str | None
    instrument_id: str
    family: str
    sequence: int  # its position in the trajectory (0 = the baseline)
    submitted_at: datetime


def superseded(waiting: Iterable[WaitingMeasurement], latest: Mapping[str, datetime]) -> set[str]:
    """Ids of the waiting measurements whose trajectory has a later measurement (``latest``:
    per trajectory id, its latest measurement's time): no follow-up is announced for them."""
    return {
        m.measurement_id
        for m in waiting
        if latest.get(m.trajectory_id, m.submitted_at) > m.submitted_at
    }
