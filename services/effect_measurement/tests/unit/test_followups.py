from __future__ import annotations

from datetime import UTC, datetime

from effect_measurement.domain.followups import (
    FollowUpSchedule,
    add_months,
    due_followups,
    mark_notified,
)
from effect_measurement.domain.inputs import InstrumentKind
from effect_measurement.domain.trajectories import build_trajectories
from em_builders import at, matrix


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)


def test_first_followup_due_three_months_after_baseline_and_only_once() -> None:
    trajectories = build_trajectories([matrix("r1", at(2026, 1, 15), {"finances": 2})])
    (trajectory,) = trajectories.values()
    assert due_followups([trajectory], at(2026, 4, 14)) == []
    (due,) = due_followups([trajectory], at(2026, 4, 15))
    assert due.sequence == 1 and due.due_at == at(2026, 4, 15)
    trajectory = mark_notified(trajectory, due.sequence)
    assert due_followups([trajectory], at(2026, 12, 1)) == []


def test_next_sequence_after_followup_measured() -> None:
    trajectories = build_trajectories(
        [matrix("r1", at(2026, 1), {"finances": 2}), matrix("r2", at(2026, 4), {"finances": 3})]
    )
    (trajectory,) = trajectories.values()
    trajectory = mark_notified(trajectory, 1)
    (due,) = due_followups([trajectory], at(2026, 7, 20))
    assert due.sequence == 2 and due.due_at == at(2026, 7, 15)


def test_schedule_configurable_per_family_and_off_for_self_assessment() -> None:
    (trajectory,) = build_trajectories([matrix("r1", at(2026, 1), {"finances": 2})]).values()
    assert (
        due_followups([trajectory], at(2026, 4, 20), FollowUpSchedule(per_family={"zrm": 6})) == []
    )
    assert (
        due_followups([trajectory], at(2026, 5, 1), FollowUpSchedule(per_family={"zrm": None}))
        == []
    )
    (own,) = build_trajectories(
        [matrix("r1", at(2026, 1), {"finances": 2}, kind=InstrumentKind.SELF_ASSESSMENT)]
    ).values()
    assert due_followups([own], at(2027, 1, 1)) == []
