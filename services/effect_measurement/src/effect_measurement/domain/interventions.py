"""Interventions: any event with a person, a type and a time.

Examples: ``learning_path_completed``, ``help_matched``, ``social_map_referral``. The consumer
maps each source event to an ``InterventionInput``; new types need no code change here.
An intervention belongs to the trajectory window it falls in: after measurement n and up to
(and including) measurement n+1, so its effect shows in follow-up n+1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.trajectories import Trajectory

NO_INTERVENTION = "none"


@dataclass(frozen=True, slots=True)
class InterventionWindow:
    sequence: int  # 1 = between baseline and first follow-up
    start: datetime
    end: datetime | None  # None: open window, the next follow-up has not happened yet
    interventions: tuple[InterventionInput, ...]


def _for_person(
    trajectory: Trajectory, interventions: Iterable[InterventionInput]
) -> list[InterventionInput]:
    unique = {
        i.intervention_id: i for i in interventions if i.person_id == trajectory.key.person_id
    }
    return sorted(unique.values(), key=lambda i: (i.occurred_at, i.intervention_id))


def link_interventions(
    trajectory: Trajectory, interventions: Iterable[InterventionInput]
) -> list[InterventionWindow]:
    """Windows between consecutive measurements with the interventions inside each.

    Interventions before the baseline belong to no window (they did not happen during the
    measured trajectory).
    """
    if not trajectory.points:
        return []
    mine = _for_person(trajectory, interventions)
    times = [p.submitted_at for p in trajectory.points]
    windows: list[InterventionWindow] = []
    for sequence, start in enumerate(times, start=1):
        end = times[sequence] if sequence < len(times) else None
        inside = tuple(
            i for i in mine if start < i.occurred_at and (end is None or i.occurred_at <= end)
        )
        windows.append(InterventionWindow(sequence, start, end, inside))
    return windows


def of_trajectory(
    tracks: Sequence[Trajectory], interventions: Iterable[InterventionInput]
) -> list[InterventionInput]:
    """The interventions shown in a trajectory (its tracks: one person, organisation and
    instrument family): the person's, after the trajectory's baseline (its first
    measurement), by time; of any organisation and source.

    The persona fold's attribution, at the level of the trajectory: a change measured at a
    follow-up counts once for every type in (baseline, follow-up]
    (``intervention_types_between``), and one after the latest measurement is in the open
    window until the next. It ignores who recorded an intervention (help from the
    marketplace or a module the resident chose counts for every trajectory they had then),
    so the view does too; who may *see* one is decided apart (``consents.visible_intervention``).
    One before the baseline happened outside the measured trajectory: in no trajectory (the
    export keeps it). A self-assessment's trajectory, which the fold never aggregates, shows
    them by the same rule (the resident's own trend).
    """
    points = [t.points[0].submitted_at for t in tracks if t.points]
    if not points:
        return []
    baseline = min(points)
    return [i for i in _for_person(tracks[0], interventions) if i.occurred_at > baseline]


def intervention_types_between(
    interventions: Iterable[InterventionInput], person_id: str, start: datetime, end: datetime
) -> frozenset[str]:
    """Types that happened to a person in (start, end]; ``none`` when there were none."""
    types = frozenset(
        i.type for i in interventions if i.person_id == person_id and start < i.occurred_at <= end
    )
    return types or frozenset({NO_INTERVENTION})
