"""Goals per dimension of a trajectory, set by the resident and/or a professional."""

from __future__ import annotations

from dataclasses import replace

from effect_measurement.domain.scales import ORDINAL_SCALES
from effect_measurement.domain.texts import DomainError, Text
from effect_measurement.domain.trajectories import Goal, Trajectory

GOAL_ROLES = frozenset({"resident", "professional"})


def set_goal(trajectory: Trajectory, goal: Goal) -> Trajectory:
    """Add a goal; history is kept, the latest per (dimension, role) is the current one."""
    if goal.set_by_role not in GOAL_ROLES:
        raise DomainError(
            Text(
                "Alleen inwoner of professional stelt een doel.",
                "Only a resident or a professional sets a goal.",
            ),
            "set_by_role",
        )
    low, high = (1.0, 5.0) if trajectory.scale in ORDINAL_SCALES else (0.0, 10.0)
    if not low <= goal.target <= high or (
        trajectory.scale in ORDINAL_SCALES and goal.target != int(goal.target)
    ):
        raise DomainError(
            Text("Doel valt buiten de schaal.", "Target is outside the scale."), "target"
        )
    return replace(trajectory, goals=(*trajectory.goals, goal))


def current_goals(trajectory: Trajectory) -> dict[tuple[str, str], Goal]:
    latest: dict[tuple[str, str], Goal] = {}
    for goal in sorted(trajectory.goals, key=lambda g: g.set_at):
        latest[(goal.dimension, goal.set_by_role)] = goal
    return latest


def goal_reached(trajectory: Trajectory, goal: Goal) -> bool:
    """True when the latest measured value of the goal's dimension meets the target."""
    for point in reversed(trajectory.points):
        if goal.dimension in point.values:
            return bool(point.values[goal.dimension] >= goal.target)
    return False
