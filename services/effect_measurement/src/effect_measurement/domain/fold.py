"""The fold: what a person's measurements contribute to the aggregate and persona cells, and
the delta of adding measurements to a person's stored history.

GENERAL PATH (the specification). ``cell_contributions`` and ``persona_contributions`` derive
all of a person's contributions from their stored measurements alone (trajectories built,
every series walked); ``add_person_delta`` adds ``contributions(history + new) -
contributions(history)``, restricted to the periods the new measurements can change. So late
or redelivered measurements, profile moves (each measurement keeps its profile snapshot) and
erasure keep the projections exactly equal to their sum over persons.

- Aggregate cells: per series (a trajectory's dimension) and period a person counts in ONE
  cell, the neighbourhood of the series' last point in the period, as ``baseline_only`` or
  improved / same / worse (that point against the baseline), so ``measured == baseline_only
  + improved + same + worse`` and the distinct count stays incremental. ``_all``: once per
  organisation x family x period, in the neighbourhood of the latest measurement there.
- Persona cells: per series and year, the year's latest follow-up against the baseline, once
  per profile attribute and per intervention type between the two (``none`` without any).

What a cell counts for a series is ``change`` (one module for both folds and every path).
Self-assessments never enter; nor do anonymous responses (no person, no trajectory).

FAST PATHS (optimisations of the usual cases; every one is marked ``FAST PATH`` and is
property-tested against the general path in ``tests/unit/test_fold_fast_path.py``, so a rule
changed in the general path fails those tests until the fast path follows):

- appended (``add_appended_delta``, ``add_appended_persona_delta``): every new measurement
  comes after the stored ones; only the cells where a new point is a series' last point of a
  period change, computed from the baseline and the stored last point;
- a person's first measurement (``FirstMeasurements``): the baseline of every series; added
  per group (organisation, neighbourhood, family, periods), as in each cell first
  measurements differ only in their number and the sum of their values;
- a baseline's first follow-up (``_second_cells``, ``_second_persona``): one stored and one
  new measurement of one organisation and family.

``fold_into`` (aggregate cells) and ``persona_batch_delta`` choose the path per person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from datetime import datetime
from typing import Any

from effect_measurement.domain.accumulator import (
    BASELINE_COUNT,
    BASELINE_ONLY,
    BASELINE_SUM,
    MEASURED,
    Flat,
    Sparse,
    add_all_flat,
    add_sparse,
    centi,
)
from effect_measurement.domain.change import (
    MEASURED_ONCE,
    change_contribution,
    series_contribution,
)
from effect_measurement.domain.inputs import InstrumentKind, InterventionInput
from effect_measurement.domain.interventions import NO_INTERVENTION, intervention_types_between
from effect_measurement.domain.keys import (
    ALL_DIMENSIONS,
    ProfileSnapshot,
    RawCell,
    RawPersona,
    profile_values,
)
from effect_measurement.domain.periods import period_labels_of
from effect_measurement.domain.scales import Scale
from effect_measurement.domain.trajectories import (
    NO_ORGANISATION,
    Point,
    StoredMeasurement,
    Trajectory,
    appends,
    arrival_order,
    build_trajectories,
)

#: Period labels a fold is restricted to (None: all).
Only = Set[str] | None
_YEAR = 2  # position of the year in ``period_labels_of``
_NONE_ONLY = frozenset({NO_INTERVENTION})


# -- shared by every path ---------------------------------------------------------------------


def _measured(items: Iterable[StoredMeasurement]) -> list[StoredMeasurement]:
    """Measurements that feed trajectories (self-assessments never aggregate)."""
    return [s for s in items if s.measurement.kind is InstrumentKind.MEASUREMENT]


def _intervention_types(
    interventions: Sequence[InterventionInput], person: str, start: datetime, end: datetime
) -> frozenset[str]:
    if not interventions:
        return _NONE_ONLY
    return intervention_types_between(interventions, person, start, end)


def _add_change(
    sums: dict[RawPersona, Flat],
    family: str,
    dimension: str,
    year: str,
    snapshot: ProfileSnapshot,
    contribution: Sparse,
    types: Iterable[str],
    sign: int,
) -> None:
    """A persona change: once per profile attribute and intervention type."""
    for attribute, value in profile_values(snapshot):
        for kind in types:
            add_sparse(sums, (family, dimension, year, attribute, value, kind), contribution, sign)


# -- GENERAL PATH -------------------------------------------------------------------------------


def _series(points: Sequence[Point]) -> dict[str, list[int]]:
    """Per dimension of a trajectory, the positions of the points that measured it (one series;
    its baseline is the first)."""
    indices_of: dict[str, list[int]] = {}
    for index, point in enumerate(points):
        for dimension in point.values:
            indices_of.setdefault(dimension, []).append(index)
    return indices_of


def _last_per_period(indices: Iterable[int], periods: Sequence[Sequence[str]]) -> dict[str, int]:
    """Per period, the last of these points in it (``periods``: the labels of each point)."""
    last: dict[str, int] = {}
    for index in indices:
        for period in periods[index]:
            last[period] = index
    return last


def _trajectory_cells(trajectory: Trajectory, out: dict[RawCell, Flat], only: Only) -> None:
    organisation, family = trajectory.key.organisation, trajectory.key.family
    points, scale = trajectory.points, trajectory.scale
    point_periods = [period_labels_of(point.submitted_at) for point in points]
    for dimension, indices in _series(points).items():
        start = indices[0]
        baseline = points[start].values[dimension]
        baseline_periods = point_periods[start]
        for period, last in _last_per_period(indices, point_periods).items():
            if only is not None and period not in only:
                continue
            point = points[last]
            add_sparse(
                out,
                (organisation, point.neighbourhood, family, dimension, period),
                series_contribution(
                    baseline,
                    period in baseline_periods,
                    point.values[dimension],
                    last == start,
                    scale,
                ),
                1,
            )


def cell_contributions(
    measurements: Iterable[StoredMeasurement], only: Only = None
) -> dict[RawCell, Flat]:
    """All aggregate contributions of one person; with ``only``, just those periods' cells."""
    out: dict[RawCell, Flat] = {}
    measured = _measured(measurements)
    if not measured:
        return out
    trajectories = build_trajectories(measured).values()
    for trajectory in trajectories:
        _trajectory_cells(trajectory, out, only)
    # ``_all``: once per organisation x family x period, at the latest measurement there.
    latest: dict[tuple[str, str, str], tuple[datetime, str, str]] = {}
    for trajectory in trajectories:
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
        add_sparse(
            out, (organisation, neighbourhood, family, ALL_DIMENSIONS, period), MEASURED_ONCE, 1
        )
    return out


def persona_contributions(
    measurements: Iterable[StoredMeasurement],
    interventions: Iterable[InterventionInput],
    only: Only = None,
) -> dict[RawPersona, Flat]:
    """All persona contributions of one person; with ``only``, just those years' cells."""
    cells: dict[RawPersona, Flat] = {}
    measured = _measured(measurements)
    if not measured:
        return cells
    events = list(interventions)
    for trajectory in build_trajectories(measured).values():
        points = trajectory.points
        if len(points) < 2:
            continue  # a change needs a follow-up
        key = trajectory.key
        years = [(period_labels_of(point.submitted_at)[_YEAR],) for point in points]
        for dimension, indices in _series(points).items():
            if len(indices) < 2:
                continue
            start = indices[0]
            baseline = points[start].values[dimension]
            for year, index in _last_per_period(indices[1:], years).items():
                if only is not None and year not in only:
                    continue
                point = points[index]
                _add_change(
                    cells,
                    key.family,
                    dimension,
                    year,
                    point,
                    change_contribution(point.values[dimension] - baseline, trajectory.scale),
                    _intervention_types(
                        events, key.person_id, points[start].submitted_at, point.submitted_at
                    ),
                    1,
                )
    return cells


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


# -- FAST PATHS ---------------------------------------------------------------------------------
#: A series in the fast paths: (organisation, family, (track, dimension)).
Slot = tuple[str, str, tuple[str, str]]
#: The last point of a series in a period: (value, the measurement, is the baseline).
Last = tuple[float, StoredMeasurement, bool]


class _SeriesWalk:
    """FAST PATH helper. Walks a person's measurements in arrival order (the stored ones, then
    the new ones): each series' baseline (value, its period labels, time, scale), and per
    period of interest the series' last point."""

    __slots__ = ("baselines", "first_label", "periods")

    def __init__(self, periods: Set[str], *, years_only: bool = False) -> None:
        self.baselines: dict[Slot, tuple[float, tuple[str, str, str], datetime, Scale]] = {}
        self.periods = periods
        self.first_label = _YEAR if years_only else 0

    def last_points(
        self,
        items: Sequence[StoredMeasurement],
        places: dict[tuple[str, str, str], str] | None = None,
    ) -> dict[tuple[Slot, str], Last]:
        """``places``: filled with the neighbourhood of the latest of ``items`` per
        (organisation, family, period of interest), for the ``_all`` cells."""
        last: dict[tuple[Slot, str], Last] = {}
        baselines, periods = self.baselines, self.periods
        for stored in items:
            values = stored.series
            if not values:
                continue  # no track: not part of any trajectory (nor of ``_all``)
            data = stored.measurement
            organisation = data.organisation or NO_ORGANISATION
            labels = period_labels_of(data.submitted_at)
            wanted = [label for label in labels[self.first_label :] if label in periods]
            if places is not None:
                for label in wanted:
                    places[(organisation, data.family, label)] = stored.neighbourhood
            for series, scale, value in values:
                slot = (organisation, data.family, series)
                first = slot not in baselines
                if first:
                    baselines[slot] = (value, labels, data.submitted_at, scale)
                for label in wanted:
                    last[(slot, label)] = (value, stored, first)
        return last


def _shared_baselines(
    before: StoredMeasurement, after: StoredMeasurement
) -> dict[tuple[str, str], float] | None:
    """FAST PATH helper for one stored and one new measurement: the stored one's value per
    series (each its series' baseline) when both belong to one organisation and family and the
    stored one measured something; None otherwise."""
    old, new = before.measurement, after.measurement
    if (
        (old.organisation or NO_ORGANISATION) != (new.organisation or NO_ORGANISATION)
        or old.family != new.family
        or not before.series
    ):
        return None
    return {series: value for series, _, value in before.series}


def add_appended_delta(
    sums: dict[RawCell, Flat],
    history: Sequence[StoredMeasurement],
    new: Sequence[StoredMeasurement],
) -> None:
    """FAST PATH of ``add_person_delta(sums, history, new, cell_contributions)`` when every
    new measurement comes after every stored one (``appended_periods`` is not None), without
    building trajectories twice: a (series, period) cell changes only where a new point is
    the series' last point in that period, so only those cells are computed, from the
    baseline and the last stored point of the period."""
    new_measured = _measured(new)
    if not new_measured:
        return
    history_measured = _measured(history)
    if len(new_measured) == 1 and not history_measured:
        first = FirstMeasurements()  # most measurements: a person's first
        first.add(new_measured[0])
        first.add_to(sums)
        return
    if (
        len(new_measured) == 1
        and len(history_measured) == 1
        and _second_cells(sums, history_measured[0], new_measured[0])
    ):
        return  # the next most: a baseline's first follow-up
    new_measured.sort(key=arrival_order)
    history_measured.sort(key=arrival_order)
    periods = {
        label for s in new_measured for label in period_labels_of(s.measurement.submitted_at)
    }
    walk = _SeriesWalk(periods)
    places_before: dict[tuple[str, str, str], str] = {}
    places_after: dict[tuple[str, str, str], str] = {}
    last_before = walk.last_points(history_measured, places_before)
    last_after = walk.last_points(new_measured, places_after)

    for (slot, period), (value, stored, is_baseline) in last_after.items():
        organisation, family, (_, dimension) = slot
        base, base_periods, _, scale = walk.baselines[slot]
        in_base = period in base_periods
        add_sparse(
            sums,
            (organisation, stored.neighbourhood, family, dimension, period),
            series_contribution(base, in_base, value, is_baseline, scale),
            1,
        )
        old = last_before.get((slot, period))
        if old is not None:
            add_sparse(
                sums,
                (organisation, old[1].neighbourhood, family, dimension, period),
                series_contribution(base, in_base, old[0], old[2], scale),
                -1,
            )
    for (organisation, family, period), neighbourhood in places_after.items():
        old_neighbourhood = places_before.get((organisation, family, period))
        if old_neighbourhood == neighbourhood:
            continue
        add_sparse(
            sums, (organisation, neighbourhood, family, ALL_DIMENSIONS, period), MEASURED_ONCE, 1
        )
        if old_neighbourhood is not None:
            add_sparse(
                sums,
                (organisation, old_neighbourhood, family, ALL_DIMENSIONS, period),
                MEASURED_ONCE,
                -1,
            )


class FirstMeasurements:
    """FAST PATH: persons' first measurements within one fold, added per group (organisation,
    neighbourhood, family, periods). Each is the baseline and the last point of every series
    in each of its periods (``series_contribution(v, True, v, True, scale)`` per value v), so
    in a cell they differ only in their number and the sum of their values: a group adds its
    cells once instead of every measurement adding them (~40 cell updates each)."""

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        # group -> (measurements, {dimension: [count, sum of values in hundredths]})
        self._groups: dict[
            tuple[str, str, str, tuple[str, str, str]], tuple[list[int], dict[str, list[int]]]
        ] = {}

    def add(self, stored: StoredMeasurement) -> None:
        values = stored.series
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
        for (organisation, neighbourhood, family, labels), (count, dims) in self._groups.items():
            for dimension, (n, total) in dims.items():
                contribution: Sparse = (
                    (
                        (MEASURED, n),
                        (BASELINE_COUNT, n),
                        (BASELINE_SUM, total),
                        (BASELINE_ONLY, n),
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
            measured: Sparse = (((MEASURED, count[0]),), None)
            for period in labels:
                add_sparse(
                    sums, (organisation, neighbourhood, family, ALL_DIMENSIONS, period), measured, 1
                )


def _second_cells(
    sums: dict[RawCell, Flat], before: StoredMeasurement, after: StoredMeasurement
) -> bool:
    """FAST PATH of ``add_appended_delta`` for one new measurement after exactly one stored
    one of the same organisation and family, both measuring something; False (nothing added)
    otherwise. The stored one is every series' baseline and its last point in each of its
    periods; the new one becomes the last point of its series in each of its periods."""
    baselines = _shared_baselines(before, after)
    if baselines is None or not after.series:
        return False
    old, new = before.measurement, after.measurement
    organisation = new.organisation or NO_ORGANISATION
    family, neighbourhood, old_neighbourhood = new.family, after.neighbourhood, before.neighbourhood
    base_labels = period_labels_of(old.submitted_at)
    labels = period_labels_of(new.submitted_at)
    for series, scale, value in after.series:
        dimension = series[1]
        base = baselines.get(series)
        if base is None:  # the series starts here: the new point is its baseline
            contribution = series_contribution(value, True, value, True, scale)
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
                series_contribution(base, in_base, value, False, scale),
                1,
            )
            if in_base:  # the baseline was the series' last point in this period
                add_sparse(
                    sums,
                    (organisation, old_neighbourhood, family, dimension, period),
                    series_contribution(base, True, base, True, scale),
                    -1,
                )
    for period in labels:
        if period in base_labels and old_neighbourhood == neighbourhood:
            continue
        add_sparse(
            sums, (organisation, neighbourhood, family, ALL_DIMENSIONS, period), MEASURED_ONCE, 1
        )
        if period in base_labels:
            add_sparse(
                sums,
                (organisation, old_neighbourhood, family, ALL_DIMENSIONS, period),
                MEASURED_ONCE,
                -1,
            )
    return True


def add_appended_persona_delta(
    sums: dict[RawPersona, Flat],
    history: Sequence[StoredMeasurement],
    new: Sequence[StoredMeasurement],
    interventions: Sequence[InterventionInput],
) -> None:
    """FAST PATH of ``add_person_delta(sums, history, new, persona_contributions)`` when every
    new measurement comes after every stored one: per series and year, only a new latest
    follow-up changes a cell, so only those are computed, against the baseline and the stored
    latest follow-up of that year."""
    new_measured = sorted(_measured(new), key=arrival_order)
    if not new_measured:
        return
    history_measured = sorted(_measured(history), key=arrival_order)
    if len(new_measured) == 1 and len(history_measured) == 1:
        _second_persona(sums, history_measured[0], new_measured[0], interventions)
        return  # the most common change: a baseline's first follow-up
    years = {period_labels_of(s.measurement.submitted_at)[_YEAR] for s in new_measured}
    walk = _SeriesWalk(years, years_only=True)
    before = walk.last_points(history_measured)
    after = walk.last_points(new_measured)
    person = new_measured[0].measurement.person_id or ""

    def add(slot: Slot, year: str, value: float, stored: StoredMeasurement, sign: int) -> None:
        base, _, base_at, scale = walk.baselines[slot]
        _add_change(
            sums,
            slot[1],
            slot[2][1],
            year,
            stored,
            change_contribution(value - base, scale),
            _intervention_types(interventions, person, base_at, stored.measurement.submitted_at),
            sign,
        )

    for (slot, year), (value, stored, is_baseline) in after.items():
        if is_baseline:
            continue  # a series that starts here: no change yet
        add(slot, year, value, stored, 1)
        old = before.get((slot, year))
        if old is not None and not old[2]:  # the stored latest follow-up of the year
            add(slot, year, old[0], old[1], -1)


def _second_persona(
    sums: dict[RawPersona, Flat],
    before: StoredMeasurement,
    after: StoredMeasurement,
    interventions: Sequence[InterventionInput],
) -> None:
    """FAST PATH of ``add_appended_persona_delta`` for one new measurement after exactly one
    stored one: the stored one is the baseline of its series, the new one the year's latest
    follow-up of the series they share (none when another organisation or family)."""
    baselines = _shared_baselines(before, after)
    if baselines is None:
        return
    old, new = before.measurement, after.measurement
    year = period_labels_of(new.submitted_at)[_YEAR]
    types = _intervention_types(
        interventions, new.person_id or "", old.submitted_at, new.submitted_at
    )
    for series, scale, value in after.series:
        base = baselines.get(series)
        if base is None:
            continue  # the series starts here: no change yet
        _add_change(
            sums,
            new.family,
            series[1],
            year,
            after,
            change_contribution(value - base, scale),
            types,
            1,
        )


# -- choosing the path per person -----------------------------------------------------------


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
    """Add the persons' aggregate cell deltas to ``sums`` (a batch may be folded in parts)."""
    firsts = FirstMeasurements()
    for person, items in new_by_person.items():
        before = history.get(person, ())
        if not appends(before, items):
            add_person_delta(sums, before, items, cell_contributions)  # a late measurement
            continue
        measured = _measured(items)
        if len(measured) == 1 and not _measured(before):
            firsts.add(measured[0])  # most measurements: a person's first
        else:
            add_appended_delta(sums, before, items)
    firsts.add_to(sums)


def persona_batch_delta(
    sums: dict[RawPersona, Flat],
    history: Mapping[str, Sequence[StoredMeasurement]],
    new: Mapping[str, Sequence[StoredMeasurement]],
    interventions: Mapping[str, Sequence[InterventionInput]],
) -> None:
    """Add the persona deltas of adding ``new`` measurements (per person) to their
    ``history`` to ``sums``."""
    for person, items in new.items():
        ivs = interventions.get(person, ())
        before = history.get(person, ())
        if appends(before, items):
            add_appended_persona_delta(sums, before, items, ivs)
            continue

        def contributions(
            ms: Sequence[StoredMeasurement], only: Only, ivs: Sequence[InterventionInput] = ivs
        ) -> dict[RawPersona, Flat]:
            return persona_contributions(ms, ivs, only)

        add_person_delta(sums, before, items, contributions)
