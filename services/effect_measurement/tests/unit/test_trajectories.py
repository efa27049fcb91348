from __future__ import annotations

import pytest
from effect_measurement.domain.goals import current_goals, goal_reached, set_goal
from effect_measurement.domain.inputs import InstrumentKind, MeasurementInput
from effect_measurement.domain.scales import Outcome, Scale, classify_change
from effect_measurement.domain.texts import DomainError
from effect_measurement.domain.trajectories import (
    Goal,
    StoredMeasurement,
    TrajectoryKey,
    apply_measurement,
    build_trajectories,
)
from em_builders import at, matrix


def only(measurements: list[StoredMeasurement]):  # type: ignore[no-untyped-def]
    (trajectory,) = build_trajectories(measurements).values()
    return trajectory


def test_baseline_is_first_measurement_even_when_it_arrives_late() -> None:
    follow = matrix("r2", at(2026, 4), {"finances": 4})
    base = matrix("r1", at(2026, 1), {"finances": 2})
    trajectory = only([follow, base])
    assert trajectory.baseline is not None and trajectory.baseline.response_id == "r1"
    assert [p.response_id for p in trajectory.follow_ups] == ["r2"]


def test_change_delta_outcome_and_transition() -> None:
    trajectory = only(
        [
            matrix("r1", at(2026, 1), {"finances": 2, "housing": 4}),
            matrix("r2", at(2026, 4), {"finances": 4, "housing": 3}),
        ]
    )
    changes = trajectory.latest_changes()
    assert changes["finances"].delta == 2 and changes["finances"].outcome is Outcome.IMPROVED
    assert changes["finances"].transition == (2, 4)
    assert changes["housing"].outcome is Outcome.WORSE
    assert trajectory.phase_transitions() == [("finances", 2, 4), ("housing", 4, 3)]


def test_score_threshold_is_one_point() -> None:
    assert classify_change(0.9, Scale.SCORE) is Outcome.SAME
    assert classify_change(1.0, Scale.SCORE) is Outcome.IMPROVED
    assert classify_change(-1.0, Scale.SCORE) is Outcome.WORSE


def test_redelivered_response_adds_no_point() -> None:
    first = matrix("r1", at(2026, 1), {"finances": 2})
    trajectories = build_trajectories([first])
    again = apply_measurement(trajectories, first)
    assert len(again[next(iter(again))].points) == 1


def test_anonymous_responses_have_no_trajectory() -> None:
    assert build_trajectories([matrix("r1", at(2026, 1), {"finances": 2}, person=None)]) == {}


def test_effect_monitor_theme_is_its_own_track_and_organisations_are_separate() -> None:
    def monitor(response: str, org: str, phases: dict[str, int]) -> StoredMeasurement:
        return StoredMeasurement(
            MeasurementInput(
                response_id=response,
                person_id="p1",
                organisation=org,
                instrument_id="em",
                family="em",
                kind=InstrumentKind.MEASUREMENT,
                submitted_at=at(2026, 1),
                phases=phases,
            )
        )

    keys = set(
        build_trajectories(
            [
                monitor("r1", "org-a", {"informal_care": 2, "relationship": 1}),
                monitor("r2", "org-b", {"informal_care": 3}),
            ]
        )
    )
    assert keys == {
        TrajectoryKey("p1", "org-a", "em", "phase:informal_care"),
        TrajectoryKey("p1", "org-a", "em", "phase:relationship"),
        TrajectoryKey("p1", "org-b", "em", "phase:informal_care"),
    }


def test_goals_keep_history_and_report_reached() -> None:
    trajectory = only(
        [matrix("r1", at(2026, 1), {"finances": 2}), matrix("r2", at(2026, 4), {"finances": 4})]
    )
    first = Goal("finances", 3, "professional", "actor-1", at(2026, 1))
    later = Goal("finances", 5, "professional", "actor-1", at(2026, 2))
    trajectory = set_goal(set_goal(trajectory, first), later)
    assert current_goals(trajectory)[("finances", "professional")] == later
    assert len(trajectory.goals) == 2
    assert goal_reached(trajectory, first) and not goal_reached(trajectory, later)


@pytest.mark.parametrize(("target", "role"), [(6, "resident"), (2.5, "resident"), (3, "neighbour")])
def test_goal_outside_scale_or_by_unknown_role_is_refused(target: float, role: str) -> None:
    trajectory = only([matrix("r1", at(2026, 1), {"finances": 2})])
    with pytest.raises(DomainError):
        set_goal(trajectory, Goal("finances", target, role, "actor", at(2026, 1)))
