"""Aggregates as incrementally updatable projections.

Cell key: tenant x organisation x neighbourhood x instrument family x dimension x period, where
dimension is a theme or life domain, or ``_all`` (residents measured with the family at all).

Design: a person's contributions are a pure function of their stored measurements
(``person_cells``). Every change to a person (new measurement, late measurement, erasure) is
applied as the difference ``person_cells(after) - person_cells(before)``. So the projection is
always exactly the sum over persons of ``person_cells``, and erasure subtracts what was added.

Per (trajectory, dimension, period) a person contributes to ONE cell: the neighbourhood of their
latest measurement of that dimension in the period. Inside that cell they are counted once:
``measured`` = 1, and either ``baseline_only`` = 1 (no follow-up in the period) or one of
``improved`` / ``same`` / ``worse`` = 1 (latest follow-up in the period against the baseline).
So ``measured == baseline_only + improved + same + worse`` in every dimension cell, and the
distinct count stays incremental: the count goes up when a person's first measurement in the
cell arrives, and never again for that person.
Self-assessments never enter aggregates; nor do anonymous responses (no person, no change).
Sums are kept in hundredths as integers so that add-then-remove is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from effect_measurement.domain.inputs import InstrumentKind
from effect_measurement.domain.periods import Period, periods_of
from effect_measurement.domain.scales import Outcome
from effect_measurement.domain.trajectories import StoredMeasurement, Trajectory, build_trajectories

ALL_DIMENSIONS = "_all"
K = TypeVar("K")  # a cell key type: CellKey here, PersonaKey in ``persona``

_COUNTERS = (
    "measured",
    "baseline_only",
    "improved",
    "same",
    "worse",
    "baseline_count",
    "baseline_sum_centi",
    "change_count",
    "change_sum_centi",
)


# Counters that can never go below zero (the change sum can).
_COUNTS = tuple(name for name in _COUNTERS if name != "change_sum_centi")


def centi(value: float) -> int:
    return round(value * 100)


# Not frozen: a frozen dataclass's __init__ costs one object.__setattr__ per field, and
# ingestion builds tens of keys and accumulators per event. Treat both as immutable.
@dataclass(slots=True, order=True)
class CellKey:
    tenant: str
    organisation: str
    neighbourhood: str
    family: str
    dimension: str
    period: Period

    def __hash__(self) -> int:
        # Folding a batch hashes each key many times; the generated hash re-hashes the Period.
        return hash(
            (self.tenant, self.organisation, self.neighbourhood, self.family, self.dimension,
             self.period.label)
        )

    def as_id(self) -> str:
        return "|".join(
            (
                self.tenant,
                self.organisation,
                self.neighbourhood,
                self.family,
                self.dimension,
                self.period.label,
            )
        )


@dataclass(slots=True)
class Accumulator:
    """Additive counters of one cell; also the shape of a contribution or a delta."""

    measured: int = 0
    baseline_only: int = 0
    improved: int = 0
    same: int = 0
    worse: int = 0
    baseline_count: int = 0
    baseline_sum_centi: int = 0
    change_count: int = 0
    change_sum_centi: int = 0
    transitions: Mapping[str, int] = field(default_factory=dict)  # "2>4" -> count

    @property
    def mean_baseline(self) -> float | None:
        return self.baseline_sum_centi / 100 / self.baseline_count if self.baseline_count else None

    @property
    def mean_change(self) -> float | None:
        return self.change_sum_centi / 100 / self.change_count if self.change_count else None

    def outcome_count(self, outcome: Outcome) -> int:
        return int(getattr(self, outcome.value))

    def is_zero(self) -> bool:
        return all(getattr(self, name) == 0 for name in _COUNTERS) and not any(
            self.transitions.values()
        )

    def combined(self, other: Accumulator, sign: int = 1) -> Accumulator:
        values = {name: getattr(self, name) + sign * getattr(other, name) for name in _COUNTERS}
        moves = dict(self.transitions)
        for move, count in other.transitions.items():
            moves[move] = moves.get(move, 0) + sign * count
        return Accumulator(**values, transitions={k: v for k, v in moves.items() if v != 0})

    def negated(self) -> Accumulator:
        values = {name: -getattr(self, name) for name in _COUNTERS}
        return Accumulator(**values, transitions={k: -v for k, v in self.transitions.items()})

    def as_increments(self) -> dict[str, int]:
        """Flat field -> amount, for one ``$inc`` per cell (transitions as ``transitions.2>4``)."""
        result = {name: getattr(self, name) for name in _COUNTERS if getattr(self, name)}
        result.update({f"transitions.{k}": v for k, v in self.transitions.items() if v})
        return result

    @classmethod
    def from_document(cls, document: Mapping[str, object]) -> Accumulator:
        values = {name: int(str(document.get(name, 0) or 0)) for name in _COUNTERS}
        raw = document.get("transitions") or {}
        moves = {str(k): int(str(v)) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        return cls(**values, transitions=moves)


def apply(accumulator: Accumulator, contribution: Accumulator) -> Accumulator:
    return accumulator.combined(contribution)


def remove(accumulator: Accumulator, contribution: Accumulator) -> Accumulator:
    """Subtract a contribution; a negative count means it was never added: refuse."""
    result = accumulator.combined(contribution, sign=-1)
    negative = [name for name in _COUNTS if getattr(result, name) < 0]
    if negative or any(v < 0 for v in result.transitions.values()):
        raise ValueError(
            f"contribution was not part of the accumulator: {negative or 'transitions'}"
        )
    return result


def _trajectory_cells(tenant: str, trajectory: Trajectory) -> dict[CellKey, Accumulator]:
    cells: dict[CellKey, Accumulator] = {}
    key = trajectory.key
    point_periods = [periods_of(point.submitted_at) for point in trajectory.points]
    for dimension in trajectory.dimensions():
        start = trajectory.baseline_index(dimension)
        by_period: dict[Period, list[int]] = defaultdict(list)
        for index, point in enumerate(trajectory.points):
            if dimension in point.values:
                for period in point_periods[index]:
                    by_period[period].append(index)
        for period, indices in by_period.items():
            last = indices[-1]
            point = trajectory.points[last]
            counts: dict[str, int] = {"measured": 1}
            if start in indices and start is not None:
                counts["baseline_count"] = 1
                counts["baseline_sum_centi"] = centi(trajectory.points[start].values[dimension])
            change = trajectory.change_at(last, dimension)
            moves: dict[str, int] = {}
            if change is None:
                counts["baseline_only"] = 1
            else:
                counts[change.outcome.value] = 1
                counts["change_count"] = 1
                counts["change_sum_centi"] = centi(change.delta)
                if change.transition is not None:
                    moves[f"{change.transition[0]}>{change.transition[1]}"] = 1
            cell = CellKey(
                tenant, key.organisation, point.neighbourhood, key.family, dimension, period
            )
            cells[cell] = Accumulator(**counts, transitions=moves)
    return cells


def person_cells(
    tenant: str, measurements: Iterable[StoredMeasurement]
) -> dict[CellKey, Accumulator]:
    """All contributions of one person, derived from their stored measurements only."""
    measured = [m for m in measurements if m.measurement.kind is InstrumentKind.MEASUREMENT]
    cells: dict[CellKey, Accumulator] = {}
    trajectories = build_trajectories(measured)
    for trajectory in trajectories.values():
        for cell, accumulator in _trajectory_cells(tenant, trajectory).items():
            cells[cell] = cells[cell].combined(accumulator) if cell in cells else accumulator
    # ``_all``: the person counts once per organisation x family x period, in the neighbourhood
    # of their latest measurement there.
    latest: dict[tuple[str, str, Period], tuple[datetime, str, str]] = {}
    for trajectory in trajectories.values():
        for point in trajectory.points:
            for period in periods_of(point.submitted_at):
                slot = (trajectory.key.organisation, trajectory.key.family, period)
                candidate = (point.submitted_at, point.response_id, point.neighbourhood)
                if slot not in latest or candidate[:2] > latest[slot][:2]:
                    latest[slot] = candidate
    for (organisation, family, period), (_, _, neighbourhood) in latest.items():
        cell = CellKey(tenant, organisation, neighbourhood, family, ALL_DIMENSIONS, period)
        cells[cell] = Accumulator(measured=1)
    return cells


def cell_delta(
    before: Mapping[K, Accumulator], after: Mapping[K, Accumulator]
) -> dict[K, Accumulator]:
    """``after - before`` per cell, leaving out cells that do not change."""
    result: dict[K, Accumulator] = {}
    # Hot path of ingestion: cells present on one side only need no arithmetic.
    for key, value in after.items():
        old = before.get(key)
        delta = value if old is None else value.combined(old, sign=-1)
        if not delta.is_zero():
            result[key] = delta
    for key, old in before.items():
        if key not in after:
            result[key] = old.negated()
    return result


def measurement_delta(
    tenant: str, history: Sequence[StoredMeasurement], new: Iterable[StoredMeasurement]
) -> dict[CellKey, Accumulator]:
    """Cell deltas of adding ``new`` measurements to one person's ``history``."""
    before = person_cells(tenant, history)
    return cell_delta(before, person_cells(tenant, [*history, *new]))


def erasure_delta(tenant: str, history: Sequence[StoredMeasurement]) -> dict[CellKey, Accumulator]:
    """Cell deltas that take a person out of every aggregate."""
    return cell_delta(person_cells(tenant, history), {})


def fold_deltas(deltas: Iterable[Mapping[K, Accumulator]]) -> dict[K, Accumulator]:
    # Mutable sums: folding a batch touches each cell many times (one per person in it).
    sums: dict[K, list[int]] = {}
    moves: dict[K, dict[str, int]] = {}
    for delta in deltas:
        for key, value in delta.items():
            current = sums.get(key)
            if current is None:
                sums[key] = [getattr(value, name) for name in _COUNTERS]
            else:
                for index, name in enumerate(_COUNTERS):
                    current[index] += getattr(value, name)
            if value.transitions:
                bucket = moves.setdefault(key, {})
                for move, count in value.transitions.items():
                    bucket[move] = bucket.get(move, 0) + count
    total: dict[K, Accumulator] = {}
    for key, counts in sums.items():
        transitions = {m: c for m, c in moves.get(key, {}).items() if c}
        if any(counts) or transitions:
            total[key] = Accumulator(**dict(zip(_COUNTERS, counts, strict=True)),
                                     transitions=transitions)
    return total


def fold_batch(
    tenant: str,
    batch: Iterable[StoredMeasurement],
    history: Mapping[str, Sequence[StoredMeasurement]],
) -> dict[CellKey, Accumulator]:
    """One dict of cell deltas for a batch (one ``$inc`` bulk write); ``history`` per person."""
    new_by_person: dict[str, list[StoredMeasurement]] = defaultdict(list)
    for stored in batch:
        if stored.measurement.person_id is not None:
            new_by_person[stored.measurement.person_id].append(stored)
    return fold_deltas(
        measurement_delta(tenant, history.get(person, ()), items)
        for person, items in new_by_person.items()
    )


def apply_deltas(
    projection: Mapping[K, Accumulator], deltas: Mapping[K, Accumulator]
) -> dict[K, Accumulator]:
    """In-memory twin of the adapter's ``$inc`` bulk write (used by tests and the demo)."""
    result = dict(projection)
    for key, delta in deltas.items():
        value = result.get(key, Accumulator()).combined(delta)
        if value.is_zero():
            result.pop(key, None)
        else:
            result[key] = value
    return result
