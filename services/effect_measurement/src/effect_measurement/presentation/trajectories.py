"""A resident's trajectories as JSON (own view and a professional's view) and as one series
for a chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from effect_measurement.domain.goals import goal_reached
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.trajectories import Goal, Point, Trajectory


def merged(tracks: list[Trajectory]) -> Trajectory:
    """One trajectory for a chart: the effect monitor's phase tracks share a scale."""
    if len(tracks) == 1:
        return tracks[0]
    points: dict[str, Point] = {}
    for track in tracks:
        for p in track.points:
            current = points.get(p.response_id)
            points[p.response_id] = (
                p if current is None else replace(current, values={**current.values, **p.values})
            )
    ordered = tuple(sorted(points.values(), key=lambda p: (p.submitted_at, p.response_id)))
    return replace(tracks[0], points=ordered)


def intervention_view(item: InterventionInput) -> dict[str, Any]:
    """Facts only: what (type), where it comes from, for which organisation, when."""
    return {
        "intervention_id": item.intervention_id,
        "type": item.type,
        "source": item.source,
        "organisation": item.organisation,
        "occurred_at": item.occurred_at,
    }


def trajectory_view(
    tid: str, tracks: list[Trajectory], interventions: Sequence[InterventionInput] = ()
) -> dict[str, Any]:
    """A trajectory; `interventions`: those in it, by time (`domain.interventions`)."""
    first = tracks[0]
    times = sorted({p.submitted_at for t in tracks for p in t.points})
    return {
        "trajectory_id": tid,
        "organisation": first.key.organisation,
        "family": first.key.family,
        "kind": first.kind.value,
        "measurements": len({p.response_id for t in tracks for p in t.points}),
        "baseline_at": times[0],
        "latest_at": times[-1],
        "tracks": [
            {
                "track": t.key.track,
                "scale": t.scale.value,
                "points": [{"at": p.submitted_at, "values": dict(p.values)} for p in t.points],
                "changes": {
                    d: {
                        "baseline": c.baseline,
                        "value": c.value,
                        "delta": round(c.delta, 2),
                        "outcome": c.outcome.value,
                    }
                    for d, c in t.latest_changes().items()
                },
                "goals": [
                    {
                        "dimension": g.dimension,
                        "target": g.target,
                        "set_by_role": g.set_by_role,
                        "set_at": g.set_at,
                        "reached": goal_reached(t, g),
                    }
                    for g in t.goals
                ],
            }
            for t in tracks
        ],
        "interventions": [intervention_view(i) for i in interventions],
    }


def goal_view(trajectory: str, goal: Goal) -> dict[str, Any]:
    """A goal just set, as the goal routes answer."""
    return {
        "trajectory_id": trajectory,
        "dimension": goal.dimension,
        "target": goal.target,
        "set_by_role": goal.set_by_role,
        "set_by": goal.set_by,
        "set_at": goal.set_at,
    }
