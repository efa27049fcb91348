"""Trajectories: a resident's baseline and follow-ups per organisation, instrument family and track.

A track is one theme of the effect monitor (its phase), the matrix levels, or the 0-10 scores.
Each organisation keeps its own trajectory (consent is per organisation), so a baseline taken
by one organisation is never the starting point of another organisation's change.
The baseline of a dimension is the first point that measured that dimension.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from itertools import pairwise

from effect_measurement.domain.inputs import InstrumentKind, MeasurementInput
from effect_measurement.domain.profiles import UNKNOWN, Profile
from effect_measurement.domain.scales import ORDINAL_SCALES, Outcome, Scale, classify_change

NO_ORGANISATION = "-"  # responses outside any organisation (e.g. anonymous walk-ins)
LEVELS_TRACK = "levels"
SCORES_TRACK = "scores"
PHASE_TRACK_PREFIX = "phase:"
#: One observed value of a measurement: ((track, dimension), scale, value).
Series = tuple[tuple[str, str], Scale, float]


@dataclass(frozen=True, slots=True)
class StoredMeasurement:
    """A measurement with the coarse profile as it was when it arrived.

    The snapshot makes every aggregate contribution derivable from stored measurements alone:
    a later move to another neighbourhood does not change where old contributions were counted,
    so erasure subtracts exactly what was added.
    """

    measurement: MeasurementInput
    neighbourhood: str = UNKNOWN
    age_band: str = UNKNOWN
    household_type: str = UNKNOWN
    #: ``series_values``, computed once: the folds read it for every batch that finds the
    #: measurement in a (cached) history.
    series: tuple[Series, ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "series", _series_of(self.measurement))


@lru_cache(maxsize=65536)  # ingestion asks twice per measurement, and again per follow-up
def trajectory_id(person_id: str, organisation: str | None, family: str) -> str:
    """Opaque id of a person's trajectory with one organisation and instrument family.

    One follow-up invitation covers the whole instrument, so the id FollowupDue carries is
    person x organisation x family (the per-track trajectories below live inside it).
    Hashed so that an id carries no person id.
    """
    raw = f"{person_id}|{organisation or NO_ORGANISATION}|{family}"
    return "tr-" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def arrival_order(stored: StoredMeasurement) -> tuple[datetime, str]:
    """The order of measurements in a trajectory: submitted time, then response id."""
    return stored.measurement.submitted_at, stored.measurement.response_id


def appends(history: Sequence[StoredMeasurement], new: Sequence[StoredMeasurement]) -> bool:
    """Whether every new measurement comes after every stored one (the usual case)."""
    return (
        not history or not new or (min(map(arrival_order, new)) > max(map(arrival_order, history)))
    )


def snapshot(measurement: MeasurementInput, profile: Profile | None) -> StoredMeasurement:
    if profile is None:
        return StoredMeasurement(measurement)
    return StoredMeasurement(
        measurement, profile.neighbourhood_code, profile.age_band, profile.household_type
    )


@dataclass(frozen=True, slots=True, order=True)
class TrajectoryKey:
    person_id: str
    organisation: str
    family: str
    track: str

    def as_id(self) -> str:
        return f"{self.person_id}|{self.organisation}|{self.family}|{self.track}"


@dataclass(frozen=True, slots=True)
class Point:
    response_id: str
    submitted_at: datetime
    values: Mapping[str, float]
    neighbourhood: str = UNKNOWN
    age_band: str = UNKNOWN
    household_type: str = UNKNOWN


@dataclass(frozen=True, slots=True)
class Goal:
    dimension: str
    target: float
    set_by_role: str  # "resident" or "professional"
    set_by: str  # pseudonymous actor id, never a name
    set_at: datetime


@dataclass(frozen=True, slots=True)
class DimensionChange:
    dimension: str
    baseline: float
    value: float
    delta: float
    outcome: Outcome
    transition: tuple[int, int] | None  # (from, to) on ordinal scales


@dataclass(frozen=True, slots=True)
class Trajectory:
    key: TrajectoryKey
    kind: InstrumentKind
    scale: Scale
    points: tuple[Point, ...] = ()
    goals: tuple[Goal, ...] = ()
    notified_followups: frozenset[int] = field(default_factory=frozenset)

    @property
    def baseline(self) -> Point | None:
        return self.points[0] if self.points else None

    @property
    def follow_ups(self) -> tuple[Point, ...]:
        return self.points[1:]

    def dimensions(self) -> tuple[str, ...]:
        return tuple(sorted({code for point in self.points for code in point.values}))

    def baseline_index(self, dimension: str) -> int | None:
        for index, point in enumerate(self.points):
            if dimension in point.values:
                return index
        return None

    def change_at(self, index: int, dimension: str) -> DimensionChange | None:
        """Change of one dimension from its baseline to the point at ``index`` (None if n/a)."""
        start = self.baseline_index(dimension)
        point = self.points[index]
        if start is None or start >= index or dimension not in point.values:
            return None
        before = self.points[start].values[dimension]
        after = point.values[dimension]
        delta = after - before
        transition = (int(before), int(after)) if self.scale in ORDINAL_SCALES else None
        return DimensionChange(
            dimension, before, after, delta, classify_change(delta, self.scale), transition
        )

    def changes_at(self, index: int) -> dict[str, DimensionChange]:
        result: dict[str, DimensionChange] = {}
        for dimension in self.points[index].values:
            change = self.change_at(index, dimension)
            if change is not None:
                result[dimension] = change
        return result

    def latest_changes(self) -> dict[str, DimensionChange]:
        """Change per dimension at the latest point that measured it."""
        result: dict[str, DimensionChange] = {}
        for index in range(len(self.points)):
            result.update(self.changes_at(index))
        return result

    def phase_transitions(self) -> list[tuple[str, int, int]]:
        """(dimension, from, to) between consecutive measurements of each dimension."""
        if self.scale not in ORDINAL_SCALES:
            return []
        moves: list[tuple[str, int, int]] = []
        for dimension in self.dimensions():
            values = [int(p.values[dimension]) for p in self.points if dimension in p.values]
            moves += [(dimension, a, b) for a, b in pairwise(values)]
        return moves


def observations_of(stored: StoredMeasurement) -> list[tuple[TrajectoryKey, Scale, Point]]:
    """Split one measurement into points of its tracks; anonymous responses have no trajectory."""
    data = stored.measurement
    if data.person_id is None:
        return []
    org = data.organisation or NO_ORGANISATION

    def point(values: Mapping[str, float]) -> Point:
        return Point(
            data.response_id,
            data.submitted_at,
            dict(values),
            stored.neighbourhood,
            stored.age_band,
            stored.household_type,
        )

    def key(track: str) -> TrajectoryKey:
        return TrajectoryKey(data.person_id or "", org, data.family, track)

    result = [
        (key(PHASE_TRACK_PREFIX + theme), Scale.PHASE, point({theme: float(phase)}))
        for theme, phase in sorted(data.phases.items())
    ]
    if data.levels:
        levels = {code: float(level) for code, level in data.levels.items()}
        result.append((key(LEVELS_TRACK), Scale.LEVEL, point(levels)))
    if data.dimension_scores:
        result.append((key(SCORES_TRACK), Scale.SCORE, point(data.dimension_scores)))
    return result


def series_values(stored: StoredMeasurement) -> tuple[Series, ...]:
    """((track, dimension), scale, value) of one measurement: ``observations_of`` without
    building points, for the folds' fast paths."""
    return stored.series


_PHASE, _LEVEL, _SCORE = Scale.PHASE, Scale.LEVEL, Scale.SCORE  # enum lookups are slow


@lru_cache(maxsize=4096)
def _series_key(track: str, code: str) -> tuple[str, str]:
    """One shared (track, dimension) tuple per pair: less to build, less to hash."""
    return (track, code)


def _series_of(data: MeasurementInput) -> tuple[Series, ...]:
    values: list[Series] = []
    if data.phases:
        values += [
            (_series_key(PHASE_TRACK_PREFIX + theme, theme), _PHASE, float(phase))
            for theme, phase in data.phases.items()
        ]
    if data.levels:
        values += [
            (_series_key(LEVELS_TRACK, code), _LEVEL, float(level))
            for code, level in data.levels.items()
        ]
    if data.dimension_scores:
        values += [
            (_series_key(SCORES_TRACK, code), _SCORE, float(score))
            for code, score in data.dimension_scores.items()
        ]
    return tuple(values)


def _with_point(trajectory: Trajectory, point: Point) -> Trajectory:
    if any(p.response_id == point.response_id for p in trajectory.points):
        return trajectory  # redelivered response: no second effect
    points = sorted((*trajectory.points, point), key=lambda p: (p.submitted_at, p.response_id))
    return replace(trajectory, points=tuple(points))


def apply_measurement(
    trajectories: Mapping[TrajectoryKey, Trajectory], stored: StoredMeasurement
) -> dict[TrajectoryKey, Trajectory]:
    """The trajectories this measurement changes (created when new), keyed by trajectory key."""
    changed: dict[TrajectoryKey, Trajectory] = {}
    for key, scale, point in observations_of(stored):
        current = trajectories.get(key) or Trajectory(key, stored.measurement.kind, scale)
        changed[key] = _with_point(current, point)
    return changed


def build_trajectories(
    measurements: Iterable[StoredMeasurement],
) -> dict[TrajectoryKey, Trajectory]:
    """Equal to applying ``apply_measurement`` one by one, but each trajectory is sorted
    and built once (the fold builds every person's trajectories on each batch)."""
    collected: dict[TrajectoryKey, tuple[InstrumentKind, Scale, dict[str, Point]]] = {}
    for stored in measurements:
        for key, scale, point in observations_of(stored):
            entry = collected.get(key)
            if entry is None:
                entry = collected[key] = (stored.measurement.kind, scale, {})
            entry[2].setdefault(point.response_id, point)  # redelivered: first one stays
    return {
        key: Trajectory(
            key,
            kind,
            scale,
            tuple(sorted(points.values(), key=lambda p: (p.submitted_at, p.response_id))),
        )
        for key, (kind, scale, points) in collected.items()
    }
