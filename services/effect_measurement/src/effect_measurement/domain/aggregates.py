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
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from effect_measurement.domain.inputs import InstrumentKind
from effect_measurement.domain.periods import (
    Period,
    period_labels_of,
    period_of_label,
)
from effect_measurement.domain.scales import ORDINAL_SCALES, Outcome, Scale, classify_change
from effect_measurement.domain.trajectories import (
    NO_ORGANISATION,
    StoredMeasurement,
    Trajectory,
    appends,
    arrival_order,
    build_trajectories,
    series_values,
)

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
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Folding a batch hashes each key several times: compute the hash once.
        self._hash = hash(
            (
                self.tenant,
                self.organisation,
                self.neighbourhood,
                self.family,
                self.dimension,
                self.period.label,
            )
        )

    def __hash__(self) -> int:
        return self._hash

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


# Positions of the counters in the flat lists the fold works on (``_COUNTERS`` order).
_MEASURED, _BASELINE_ONLY = 0, 1
_OUTCOME_INDEX = {Outcome.IMPROVED: 2, Outcome.SAME: 3, Outcome.WORSE: 4}
_BASELINE_COUNT, _BASELINE_SUM, _CHANGE_COUNT, _CHANGE_SUM = 5, 6, 7, 8

#: A contribution in flat form: counters in ``_COUNTERS`` order, and its transitions.
Flat = tuple[list[int], dict[str, int] | None]
#: A cell key in the fold's raw form: (organisation, neighbourhood, family, dimension,
#: period label). Plain tuples of strings hash and compare in C; keys become ``CellKey``
#: once, at the end.
RawCell = tuple[str, str, str, str, str]
#: Period labels a fold is restricted to (None: all).
Only = Set[str] | None


def add_flat(
    sums: dict[K, Flat], key: K, counts: Sequence[int], moves: Mapping[str, int] | None, sign: int
) -> None:
    """``sums[key] += sign * (counts, moves)``: the one arithmetic step of every fold."""
    current = sums.get(key)
    if current is None:
        current = sums[key] = ([0] * len(_COUNTERS), None)
    values = current[0]
    for index, amount in enumerate(counts):
        if amount:
            values[index] += sign * amount
    if moves:
        bucket = current[1]
        if bucket is None:
            bucket = {}
            sums[key] = (values, bucket)
        for move, count in moves.items():
            bucket[move] = bucket.get(move, 0) + sign * count


def add_all_flat(sums: dict[K, Flat], cells: Mapping[K, Flat], sign: int) -> None:
    """``sums += sign * cells`` (the general path; the appended fast paths add sparsely)."""
    for key, (counts, moves) in cells.items():
        add_flat(sums, key, counts, moves, sign)


def _trajectory_contributions(trajectory: Trajectory, out: dict[RawCell, Flat], only: Only) -> None:
    key = trajectory.key
    organisation, family = key.organisation, key.family
    points = trajectory.points
    scale = trajectory.scale
    ordinal = scale in ORDINAL_SCALES
    point_periods = [period_labels_of(point.submitted_at) for point in points]
    indices_of: dict[str, list[int]] = {}
    for index, point in enumerate(points):
        for dimension in point.values:
            indices_of.setdefault(dimension, []).append(index)
    for dimension, indices in indices_of.items():
        start = indices[0]  # the baseline: first point that measured the dimension
        baseline = points[start].values[dimension]
        last_in: dict[str, int] = {}
        for index in indices:
            for period in point_periods[index]:
                last_in[period] = index
        baseline_periods = point_periods[start]
        for period, last in last_in.items():
            if only is not None and period not in only:
                continue
            counts = [1, 0, 0, 0, 0, 0, 0, 0, 0]
            if period in baseline_periods:
                counts[_BASELINE_COUNT] = 1
                counts[_BASELINE_SUM] = centi(baseline)
            moves: dict[str, int] | None = None
            if last == start:
                counts[_BASELINE_ONLY] = 1
            else:
                value = points[last].values[dimension]
                delta = value - baseline
                counts[_OUTCOME_INDEX[classify_change(delta, scale)]] = 1
                counts[_CHANGE_COUNT] = 1
                counts[_CHANGE_SUM] = centi(delta)
                if ordinal:
                    moves = {f"{int(baseline)}>{int(value)}": 1}
            cell = (organisation, points[last].neighbourhood, family, dimension, period)
            if cell in out:  # same dimension code on two tracks of one family: rare
                add_flat(out, cell, counts, moves, 1)
            else:
                out[cell] = (counts, moves)


def person_contributions(
    measurements: Iterable[StoredMeasurement], only: Only = None
) -> dict[RawCell, Flat]:
    """All contributions of one person in flat, raw-keyed form (``person_cells`` without
    objects); with ``only``, just the cells of those periods."""
    measured = [m for m in measurements if m.measurement.kind is InstrumentKind.MEASUREMENT]
    out: dict[RawCell, Flat] = {}
    if not measured:
        return out
    trajectories = build_trajectories(measured)
    for trajectory in trajectories.values():
        _trajectory_contributions(trajectory, out, only)
    # ``_all``: the person counts once per organisation x family x period, in the neighbourhood
    # of their latest measurement there.
    latest: dict[tuple[str, str, str], tuple[datetime, str, str]] = {}
    for trajectory in trajectories.values():
        organisation, family = trajectory.key.organisation, trajectory.key.family
        for point in trajectory.points:
            candidate = (point.submitted_at, point.response_id, point.neighbourhood)
            for period in period_labels_of(point.submitted_at):
                if only is not None and period not in only:
                    continue
                slot = (organisation, family, period)
                found = latest.get(slot)
                if found is None or candidate[:2] > found[:2]:
                    latest[slot] = candidate
    for (organisation, family, period), (_, _, neighbourhood) in latest.items():
        # Unique per slot, and no track has the dimension ``_all``: no collision possible.
        out[(organisation, neighbourhood, family, ALL_DIMENSIONS, period)] = (
            [1, 0, 0, 0, 0, 0, 0, 0, 0],
            None,
        )
    return out


def from_flat(sums: Mapping[K, Flat]) -> dict[K, Accumulator]:
    """Flat sums as accumulators, leaving out cells whose sum is zero."""
    result: dict[K, Accumulator] = {}
    for key, (counts, moves) in sums.items():
        transitions = {m: c for m, c in moves.items() if c} if moves else {}
        if any(counts) or transitions:
            accumulator = Accumulator(transitions=transitions)
            for name, amount in zip(_COUNTERS, counts, strict=True):
                setattr(accumulator, name, amount)
            result[key] = accumulator
    return result


def _cells(tenant: str, sums: Mapping[RawCell, Flat]) -> dict[CellKey, Accumulator]:
    return {
        CellKey(tenant, o, n, f, d, period_of_label(p)): value
        for (o, n, f, d, p), value in from_flat(sums).items()
    }


def person_cells(
    tenant: str, measurements: Iterable[StoredMeasurement]
) -> dict[CellKey, Accumulator]:
    """All contributions of one person, derived from their stored measurements only."""
    return _cells(tenant, person_contributions(measurements))


def cell_delta(
    before: Mapping[K, Accumulator], after: Mapping[K, Accumulator]
) -> dict[K, Accumulator]:
    """``after - before`` per cell, leaving out cells that do not change."""
    result: dict[K, Accumulator] = {}
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
    sums: dict[RawCell, Flat] = {}
    add_person_delta(sums, history, list(new), person_contributions)
    return _cells(tenant, sums)


def erasure_delta(tenant: str, history: Sequence[StoredMeasurement]) -> dict[CellKey, Accumulator]:
    """Cell deltas that take a person out of every aggregate."""
    return cell_delta(person_cells(tenant, history), {})


def fold_deltas(deltas: Iterable[Mapping[K, Accumulator]]) -> dict[K, Accumulator]:
    sums: dict[K, Flat] = {}
    for delta in deltas:
        for key, value in delta.items():
            add_flat(sums, key, [getattr(value, name) for name in _COUNTERS], value.transitions, 1)
    return from_flat(sums)


def appended_periods(
    history: Sequence[StoredMeasurement], new: Sequence[StoredMeasurement]
) -> frozenset[str] | None:
    """The periods whose cells adding ``new`` can change, or None when any can.

    When every new measurement comes after every stored one (the usual case), baselines and
    the cells of periods without a new point stay as they were: a cell depends only on the
    points in its period and on the baseline. A late measurement may move a baseline."""
    if not new:
        return frozenset()
    if not appends(history, new):
        return None
    return frozenset(p for s in new for p in period_labels_of(s.measurement.submitted_at))


def add_person_delta(
    sums: dict[Any, Flat],
    history: Sequence[StoredMeasurement],
    new: Sequence[StoredMeasurement],
    contributions: Callable[[Sequence[StoredMeasurement], Only], Mapping[Any, Flat]],
) -> None:
    """``sums += contributions(history + new) - contributions(history)``, computed on the
    periods the new measurements can change only (``appended_periods``)."""
    only = appended_periods(history, new)
    if only is not None and not only:
        return
    add_all_flat(sums, contributions([*history, *new], only), 1)
    if history:
        add_all_flat(sums, contributions(history, only), -1)


# -- the appended fast path ---------------------------------------------------------------
#: A contribution as its non-zero counters: ((counter index, amount), ...), and its move.
Sparse = tuple[tuple[tuple[int, int], ...], str | None]


@lru_cache(maxsize=8192)
def _contribution(
    baseline: float, in_baseline_period: bool, value: float, is_baseline: bool, scale: Scale
) -> Sparse:
    """The counters of one (series, period) whose last point holds ``value``; the same
    arithmetic as ``_trajectory_contributions``. Few distinct argument sets occur (values on
    small scales), so the results are cached."""
    counts = [(_MEASURED, 1)]
    if in_baseline_period:
        counts += [(_BASELINE_COUNT, 1), (_BASELINE_SUM, centi(baseline))]
    if is_baseline:
        counts.append((_BASELINE_ONLY, 1))
        return tuple(counts), None
    delta = value - baseline
    counts += [(_OUTCOME_INDEX[classify_change(delta, scale)], 1), (_CHANGE_COUNT, 1)]
    if centi(delta):
        counts.append((_CHANGE_SUM, centi(delta)))
    move = f"{int(baseline)}>{int(value)}" if scale in ORDINAL_SCALES else None
    return tuple(counts), move


def add_sparse(sums: dict[K, Flat], key: K, contribution: Sparse, sign: int) -> None:
    """``sums[key] += sign * contribution`` for a sparse contribution (its non-zero counters)."""
    counts, move = contribution
    current = sums.get(key)
    if current is None:
        current = sums[key] = ([0, 0, 0, 0, 0, 0, 0, 0, 0], None)
    values = current[0]
    for index, amount in counts:
        values[index] += sign * amount
    if move is not None:
        bucket = current[1]
        if bucket is None:
            bucket = {}
            sums[key] = (values, bucket)
        bucket[move] = bucket.get(move, 0) + sign


def add_appended_delta(
    sums: dict[RawCell, Flat],
    history: Sequence[StoredMeasurement],
    new: Sequence[StoredMeasurement],
) -> None:
    """``add_person_delta(sums, history, new, person_contributions)`` for the usual case that
    every new measurement comes after every stored one (``appended_periods`` is not None),
    without building trajectories twice: a (series, period) cell changes only where a new
    point is the series' last point in that period, so only those cells are computed, from
    the baseline and the last stored point of the period. Property-tested against the
    general path."""
    new_measured = [s for s in new if s.measurement.kind is InstrumentKind.MEASUREMENT]
    if not new_measured:
        return
    if len(new_measured) == 1 and not any(
        s.measurement.kind is InstrumentKind.MEASUREMENT for s in history
    ):
        _add_first(sums, new_measured[0])  # most measurements: a person's first
        return
    if len(new_measured) == 1:
        history_measured = [s for s in history if s.measurement.kind is InstrumentKind.MEASUREMENT]
        if len(history_measured) == 1 and _add_second(sums, history_measured[0], new_measured[0]):
            return  # the next most: a baseline's first follow-up
    new_measured.sort(key=arrival_order)
    periods = {
        label for s in new_measured for label in period_labels_of(s.measurement.submitted_at)
    }
    # Per (organisation, family, series): the baseline (value, its periods) and the last
    # stored point per period of interest (value, neighbourhood, is the baseline).
    Slot = tuple[str, str, tuple[str, str]]
    baseline: dict[Slot, tuple[float, tuple[str, str, str]]] = {}
    last_before: dict[tuple[Slot, str], tuple[float, str, bool]] = {}
    all_before: dict[tuple[str, str, str], str] = {}  # (org, family, period) -> neighbourhood

    def walk(
        items: Sequence[StoredMeasurement], before: bool
    ) -> dict[tuple[Slot, str], tuple[float, str, bool]]:
        last: dict[tuple[Slot, str], tuple[float, str, bool]] = {}
        all_slots = all_before if before else all_after
        for stored in items:
            data = stored.measurement
            values = series_values(stored)
            if not values:
                continue  # no track: not part of any trajectory (nor of ``_all``)
            organisation = data.organisation or NO_ORGANISATION
            labels = period_labels_of(data.submitted_at)
            wanted = [label for label in labels if label in periods]
            for label in wanted:
                all_slots[(organisation, data.family, label)] = stored.neighbourhood
            for series, scale, value in values:
                slot = (organisation, data.family, series)
                first = slot not in baseline
                if first:
                    baseline[slot] = (value, labels)
                    scales[slot] = scale
                for label in wanted:
                    last[(slot, label)] = (value, stored.neighbourhood, first)
        return last

    scales: dict[Slot, Scale] = {}
    all_after: dict[tuple[str, str, str], str] = {}
    history_measured = sorted(
        (s for s in history if s.measurement.kind is InstrumentKind.MEASUREMENT), key=arrival_order
    )
    last_before = walk(history_measured, True)
    last_after = walk(new_measured, False)

    for (slot, period), (value, neighbourhood, is_baseline) in last_after.items():
        organisation, family, (_, dimension) = slot
        scale = scales[slot]
        base, base_periods = baseline[slot]
        in_base = period in base_periods
        add_sparse(
            sums,
            (organisation, neighbourhood, family, dimension, period),
            _contribution(base, in_base, value, is_baseline, scale),
            1,
        )
        old = last_before.get((slot, period))
        if old is not None:
            add_sparse(
                sums,
                (organisation, old[1], family, dimension, period),
                _contribution(base, in_base, old[0], old[2], scale),
                -1,
            )
    for (organisation, family, period), neighbourhood in all_after.items():
        old_neighbourhood = all_before.get((organisation, family, period))
        if old_neighbourhood == neighbourhood:
            continue
        add_sparse(
            sums, (organisation, neighbourhood, family, ALL_DIMENSIONS, period), _ONE_MEASURED, 1
        )
        if old_neighbourhood is not None:
            add_sparse(
                sums,
                (organisation, old_neighbourhood, family, ALL_DIMENSIONS, period),
                _ONE_MEASURED,
                -1,
            )


_ONE_MEASURED: Sparse = (((_MEASURED, 1),), None)


def _add_first(sums: dict[RawCell, Flat], stored: StoredMeasurement) -> None:
    """``add_appended_delta`` of a person's first measurement: it is the baseline and the
    last point of every series in each of its periods; no cell loses anything."""
    first = _FirstMeasurements()
    first.add(stored)
    first.add_to(sums)


class _FirstMeasurements:
    """Persons' first measurements within one fold, added per group (organisation,
    neighbourhood, family, periods): in each cell they differ only in how many there are and
    in the sum of their values, so a group adds its cells once instead of every measurement
    adding them (one by one: ~40 cell updates per measurement)."""

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        # group -> (measurements, {dimension: [count, sum of values in hundredths]})
        self._groups: dict[
            tuple[str, str, str, tuple[str, str, str]], tuple[list[int], dict[str, list[int]]]
        ] = {}

    def add(self, stored: StoredMeasurement) -> None:
        values = series_values(stored)
        if not values:
            return  # no track: not part of any trajectory (nor of ``_all``)
        data = stored.measurement
        key = (
            data.organisation or NO_ORGANISATION,
            stored.neighbourhood,
            data.family,
            period_labels_of(data.submitted_at),
        )
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = ([0], {})
        group[0][0] += 1
        dimensions = group[1]
        for (_, dimension), _, value in values:
            tally = dimensions.get(dimension)
            if tally is None:
                dimensions[dimension] = [1, centi(value)]
            else:
                tally[0] += 1
                tally[1] += centi(value)

    def add_to(self, sums: dict[RawCell, Flat]) -> None:
        """Add the measurements' cells to ``sums``: each is the baseline and the last point
        of its series in each of its periods (n x _contribution(v, True, v, True, scale),
        summed over the values v)."""
        for (organisation, neighbourhood, family, labels), (count, dims) in self._groups.items():
            for dimension, (n, total) in dims.items():
                contribution: Sparse = (
                    (
                        (_MEASURED, n),
                        (_BASELINE_COUNT, n),
                        (_BASELINE_SUM, total),
                        (_BASELINE_ONLY, n),
                    ),
                    None,
                )
                for period in labels:
                    add_sparse(
                        sums,
                        (organisation, neighbourhood, family, dimension, period),
                        contribution,
                        1,
                    )
            measured: Sparse = (((_MEASURED, count[0]),), None)
            for period in labels:
                add_sparse(
                    sums, (organisation, neighbourhood, family, ALL_DIMENSIONS, period), measured, 1
                )


def _add_second(
    sums: dict[RawCell, Flat], before: StoredMeasurement, after: StoredMeasurement
) -> bool:
    """``add_appended_delta`` of one new measurement after exactly one stored one, when both
    belong to one organisation and family and measured something; False (nothing added) when
    they do not. The stored one is every series' baseline and its last point in each of its
    periods; the new one becomes the last point of its series in each of its periods."""
    old, new = before.measurement, after.measurement
    organisation = new.organisation or NO_ORGANISATION
    if (
        (old.organisation or NO_ORGANISATION) != organisation
        or old.family != new.family
        or not before.series
        or not after.series
    ):
        return False
    family, neighbourhood, old_neighbourhood = new.family, after.neighbourhood, before.neighbourhood
    base_labels = period_labels_of(old.submitted_at)
    labels = period_labels_of(new.submitted_at)
    baselines = {series: value for series, _, value in before.series}
    for series, scale, value in after.series:
        dimension = series[1]
        base = baselines.get(series)
        if base is None:  # the series starts here: the new point is its baseline
            contribution = _contribution(value, True, value, True, scale)
            for period in labels:
                add_sparse(
                    sums, (organisation, neighbourhood, family, dimension, period), contribution, 1
                )
            continue
        for period in labels:
            in_base = period in base_labels
            add_sparse(
                sums,
                (organisation, neighbourhood, family, dimension, period),
                _contribution(base, in_base, value, False, scale),
                1,
            )
            if in_base:  # the baseline was the series' last point in this period
                add_sparse(
                    sums,
                    (organisation, old_neighbourhood, family, dimension, period),
                    _contribution(base, True, base, True, scale),
                    -1,
                )
    for period in labels:
        if period not in base_labels:
            add_sparse(
                sums,
                (organisation, neighbourhood, family, ALL_DIMENSIONS, period),
                _ONE_MEASURED,
                1,
            )
        elif old_neighbourhood != neighbourhood:
            add_sparse(
                sums,
                (organisation, neighbourhood, family, ALL_DIMENSIONS, period),
                _ONE_MEASURED,
                1,
            )
            add_sparse(
                sums,
                (organisation, old_neighbourhood, family, ALL_DIMENSIONS, period),
                _ONE_MEASURED,
                -1,
            )
    return True


def by_person(batch: Iterable[StoredMeasurement]) -> dict[str, list[StoredMeasurement]]:
    """A batch's measurements per person (anonymous ones never aggregate)."""
    new_by_person: dict[str, list[StoredMeasurement]] = defaultdict(list)
    for stored in batch:
        if stored.measurement.person_id is not None:
            new_by_person[stored.measurement.person_id].append(stored)
    return new_by_person


def fold_into(
    sums: dict[RawCell, Flat],
    new_by_person: Mapping[str, Sequence[StoredMeasurement]],
    history: Mapping[str, Sequence[StoredMeasurement]],
) -> None:
    """Add the persons' cell deltas to ``sums`` (a batch may be folded in parts)."""
    firsts = _FirstMeasurements()
    for person, items in new_by_person.items():
        before = history.get(person, ())
        if appends(before, items):
            measured = [s for s in items if s.measurement.kind is InstrumentKind.MEASUREMENT]
            if len(measured) == 1 and not any(
                s.measurement.kind is InstrumentKind.MEASUREMENT for s in before
            ):
                firsts.add(measured[0])  # most measurements: a person's first
            else:
                add_appended_delta(sums, before, items)
        else:
            add_person_delta(sums, before, items, person_contributions)
    firsts.add_to(sums)


def cells_of(tenant: str, sums: Mapping[RawCell, Flat]) -> dict[CellKey, Accumulator]:
    """Folded sums as cell deltas, leaving out cells that do not change."""
    return _cells(tenant, sums)


def fold_batch(
    tenant: str,
    batch: Iterable[StoredMeasurement],
    history: Mapping[str, Sequence[StoredMeasurement]],
) -> dict[CellKey, Accumulator]:
    """One dict of cell deltas for a batch (one ``$inc`` bulk write); ``history`` per person.

    Equal to summing ``person_cells(history + new) - person_cells(history)`` over the batch's
    persons, but both sides are added straight into one sum (no per-person delta dicts), on
    raw tuple keys, and only for the cells the new measurements can change (the appended fast
    path; a late measurement takes the general path).
    """
    sums: dict[RawCell, Flat] = {}
    fold_into(sums, by_person(batch), history)
    return _cells(tenant, sums)


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
