"""Persona feedback loop: outcome change by coarse profile x intervention type.

Projection key: tenant x family x dimension (theme / life domain) x year x profile attribute
(age band, household type, neighbourhood) x attribute value x intervention type. Per trajectory,
dimension and year a person contributes their latest follow-up of that year (against the
baseline) once for every intervention type they had between baseline and that follow-up
(``none`` when they had none). The profile values are the snapshot of that follow-up.
Like the aggregates, contributions are a pure function of the person's stored data, so the
delta method (``aggregates.cell_delta``) keeps the projection incremental and erasable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from effect_measurement.domain.aggregates import (
    Accumulator,
    Flat,
    Only,
    Sparse,
    add_flat,
    add_sparse,
    centi,
    from_flat,
)
from effect_measurement.domain.inputs import InstrumentKind, InterventionInput
from effect_measurement.domain.interventions import NO_INTERVENTION, intervention_types_between
from effect_measurement.domain.periods import Period, period_labels_of, period_of_label
from effect_measurement.domain.scales import Outcome, Scale, classify_change
from effect_measurement.domain.suppression import suppress
from effect_measurement.domain.tables import (
    Cell,
    Column,
    ColumnKind,
    PublishedTable,
    Row,
    SuppressionReason,
    hidden,
    shown,
)
from effect_measurement.domain.texts import Text
from effect_measurement.domain.trajectories import (
    NO_ORGANISATION,
    StoredMeasurement,
    arrival_order,
    build_trajectories,
    series_values,
)

PROFILE_ATTRIBUTES = ("age_band", "household_type", "neighbourhood")


@dataclass(frozen=True, slots=True, order=True)
class PersonaKey:
    tenant: str
    family: str
    dimension: str
    year: Period
    attribute: str
    value: str
    intervention_type: str
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed several times per fold: once here instead of re-hashing seven fields.
        object.__setattr__(
            self,
            "_hash",
            hash(
                (
                    self.tenant,
                    self.family,
                    self.dimension,
                    self.year.label,
                    self.attribute,
                    self.value,
                    self.intervention_type,
                )
            ),
        )

    def __hash__(self) -> int:
        return self._hash


_OUTCOME_INDEX = {Outcome.IMPROVED: 2, Outcome.SAME: 3, Outcome.WORSE: 4}
_MEASURED, _CHANGE_COUNT, _CHANGE_SUM = 0, 7, 8  # positions in ``aggregates._COUNTERS``


#: A persona key in the fold's raw form: (family, dimension, year label, attribute, value,
#: intervention type).
RawPersona = tuple[str, str, str, str, str, str]


def persona_contributions(
    measurements: Iterable[StoredMeasurement],
    interventions: Iterable[InterventionInput],
    only: Only = None,
) -> dict[RawPersona, Flat]:
    """A person's persona contributions in the fold's flat, raw-keyed form (see
    ``persona_cells``); with ``only``, just the years in it."""
    measured = [m for m in measurements if m.measurement.kind is InstrumentKind.MEASUREMENT]
    cells: dict[RawPersona, Flat] = {}
    if not measured:
        return cells
    events = list(interventions)
    for trajectory in build_trajectories(measured).values():
        points = trajectory.points
        if len(points) < 2:
            continue  # a change needs a follow-up
        indices_of: dict[str, list[int]] = {}
        for index, point in enumerate(points):
            for dimension in point.values:
                indices_of.setdefault(dimension, []).append(index)
        key = trajectory.key
        for dimension, indices in indices_of.items():
            if len(indices) < 2:
                continue
            start = indices[0]
            baseline = points[start].values[dimension]
            latest_in_year: dict[str, int] = {}
            for index in indices[1:]:
                latest_in_year[period_labels_of(points[index].submitted_at)[2]] = index
            for year, index in latest_in_year.items():
                if only is not None and year not in only:
                    continue
                point = points[index]
                delta = point.values[dimension] - baseline
                counts = [1, 0, 0, 0, 0, 0, 0, 1, centi(delta)]
                counts[_OUTCOME_INDEX[classify_change(delta, trajectory.scale)]] = 1
                types = (
                    intervention_types_between(
                        events, key.person_id, points[start].submitted_at, point.submitted_at
                    )
                    if events
                    else _NONE_ONLY
                )
                for attribute, value in (
                    ("age_band", point.age_band),
                    ("household_type", point.household_type),
                    ("neighbourhood", point.neighbourhood),
                ):
                    for kind in types:
                        cell = (key.family, dimension, year, attribute, value, kind)
                        if cell in cells:
                            add_flat(cells, cell, counts, None, 1)
                        else:
                            cells[cell] = (list(counts), None)
    return cells


_NONE_ONLY = frozenset({NO_INTERVENTION})


@lru_cache(maxsize=4096)
def _change(delta: float, scale: Scale) -> Sparse:
    """The counters of one change (``persona_contributions``' arithmetic), sparse: measured,
    its outcome, the change count and sum. Few distinct changes occur (small scales)."""
    counts = [
        (_MEASURED, 1),
        (_OUTCOME_INDEX[classify_change(delta, scale)], 1),
        (_CHANGE_COUNT, 1),
    ]
    if centi(delta):
        counts.append((_CHANGE_SUM, centi(delta)))
    return tuple(counts), None


def add_appended_persona_delta(
    sums: dict[RawPersona, Flat],
    history: Sequence[StoredMeasurement],
    new: Sequence[StoredMeasurement],
    interventions: Sequence[InterventionInput],
) -> None:
    """``sums += persona_contributions(history + new) - persona_contributions(history)`` when
    every new measurement comes after every stored one: per series (a track's dimension) and
    year, only a new latest follow-up changes a cell, so only those are computed, against the
    baseline and the stored latest follow-up of that year. Property-tested against the
    general path."""
    new_measured = sorted(
        (s for s in new if s.measurement.kind is InstrumentKind.MEASUREMENT), key=arrival_order
    )
    if not new_measured:
        return
    if len(new_measured) == 1:
        history_measured = [s for s in history if s.measurement.kind is InstrumentKind.MEASUREMENT]
        if len(history_measured) == 1:  # the most common change: a baseline's first follow-up
            _add_second(sums, history_measured[0], new_measured[0], interventions)
            return
    years = {period_labels_of(s.measurement.submitted_at)[2] for s in new_measured}
    Slot = tuple[str, str, str, str]  # (organisation, family, track, dimension)
    baseline: dict[Slot, tuple[float, datetime]] = {}
    scales: dict[Slot, Scale] = {}

    def walk(
        items: Sequence[StoredMeasurement],
    ) -> dict[tuple[Slot, str], tuple[float, StoredMeasurement]]:
        """The latest follow-up (not the baseline) per series and year of interest."""
        latest: dict[tuple[Slot, str], tuple[float, StoredMeasurement]] = {}
        for stored in items:
            data = stored.measurement
            year = period_labels_of(data.submitted_at)[2]
            organisation = data.organisation or NO_ORGANISATION
            for (track, dimension), scale, value in series_values(stored):
                slot = (organisation, data.family, track, dimension)
                if slot not in baseline:
                    baseline[slot] = (value, data.submitted_at)
                    scales[slot] = scale
                elif year in years:
                    latest[(slot, year)] = (value, stored)
        return latest

    history_measured = sorted(
        (s for s in history if s.measurement.kind is InstrumentKind.MEASUREMENT), key=arrival_order
    )
    before = walk(history_measured)
    after = walk(new_measured)
    person = new_measured[0].measurement.person_id or ""

    def add(slot: Slot, year: str, value: float, stored: StoredMeasurement, sign: int) -> None:
        base, base_at = baseline[slot]
        contribution = _change(value - base, scales[slot])
        types = (
            intervention_types_between(
                interventions, person, base_at, stored.measurement.submitted_at
            )
            if interventions
            else _NONE_ONLY
        )
        family, dimension = slot[1], slot[3]
        for attribute, attribute_value in (
            ("age_band", stored.age_band),
            ("household_type", stored.household_type),
            ("neighbourhood", stored.neighbourhood),
        ):
            for kind in types:
                add_sparse(
                    sums,
                    (family, dimension, year, attribute, attribute_value, kind),
                    contribution,
                    sign,
                )

    for (slot, year), (value, stored) in after.items():
        add(slot, year, value, stored, 1)
        old = before.get((slot, year))
        if old is not None:
            add(slot, year, old[0], old[1], -1)


def _add_second(
    sums: dict[RawPersona, Flat],
    before: StoredMeasurement,
    after: StoredMeasurement,
    interventions: Sequence[InterventionInput],
) -> None:
    """``add_appended_persona_delta`` of one new measurement after exactly one stored one: the
    stored one is the baseline of its series, the new one the year's latest follow-up of the
    series they share (none when they belong to another organisation or family)."""
    old, new = before.measurement, after.measurement
    if (old.organisation or NO_ORGANISATION) != (
        new.organisation or NO_ORGANISATION
    ) or old.family != new.family:
        return
    baselines = {series: value for series, _, value in before.series}
    if not baselines:
        return
    year = period_labels_of(new.submitted_at)[2]
    types = (
        intervention_types_between(
            interventions, new.person_id or "", old.submitted_at, new.submitted_at
        )
        if interventions
        else _NONE_ONLY
    )
    attributes = (
        ("age_band", after.age_band),
        ("household_type", after.household_type),
        ("neighbourhood", after.neighbourhood),
    )
    for series, scale, value in after.series:
        base = baselines.get(series)
        if base is None:
            continue  # the series starts here: no change yet
        contribution = _change(value - base, scale)
        for attribute, attribute_value in attributes:
            for kind in types:
                add_sparse(
                    sums,
                    (new.family, series[1], year, attribute, attribute_value, kind),
                    contribution,
                    1,
                )


def persona_keys(tenant: str, sums: Mapping[RawPersona, Flat]) -> dict[PersonaKey, Accumulator]:
    """Raw-keyed flat sums as persona cells, leaving out zero sums."""
    return {
        PersonaKey(tenant, f, d, period_of_label(y), a, v, t): value
        for (f, d, y, a, v, t), value in from_flat(sums).items()
    }


def persona_cells(
    tenant: str,
    measurements: Iterable[StoredMeasurement],
    interventions: Iterable[InterventionInput],
) -> dict[PersonaKey, Accumulator]:
    """Per trajectory, dimension and year: the latest follow-up of the year against the
    baseline, once for every intervention type between them, per profile attribute."""
    return persona_keys(tenant, persona_contributions(measurements, interventions))


@dataclass(frozen=True, slots=True)
class PersonaReport:
    counts: PublishedTable  # people with a change, per profile value x intervention type
    mean_change: PublishedTable  # same suppression pattern; a mean needs a published count


def build_persona_report(
    cells: Mapping[PersonaKey, Accumulator],
    tenant: str,
    family: str,
    dimension: str,
    year: Period,
    attribute: str,
    k: int,
) -> PersonaReport:
    """Rows: values of ``attribute``; columns: intervention types; true column totals.

    No row totals: one person may have had several intervention types, so a row total would
    not count people. Each column total is the same figure in every attribute's table, so
    the tables do not add equations about each other's hidden cells.
    """
    chosen = {
        key: value
        for key, value in cells.items()
        if (key.tenant, key.family, key.dimension, key.year, key.attribute)
        == (tenant, family, dimension, year, attribute)
    }
    values = sorted({key.value for key in chosen})
    types = sorted({key.intervention_type for key in chosen})
    lookup = {(key.value, key.intervention_type): value for key, value in chosen.items()}
    grid = [[lookup[(v, t)].change_count if (v, t) in lookup else 0 for t in types] for v in values]
    result = suppress(grid, k, row_totals=False, column_totals=True) if values else None
    columns = tuple(Column(t, Text(t, t)) for t in types)
    count_rows: list[Row] = []
    mean_rows: list[Row] = []
    for i, value in enumerate(values):
        counts: dict[str, Cell] = {}
        means: dict[str, Cell] = {}
        for j, kind in enumerate(types):
            reason = result.reasons.get((i, j)) if result else None
            counts[kind] = hidden(reason) if reason else shown(grid[i][j])
            acc = lookup.get((value, kind))
            mean = acc.mean_change if acc else None
            if reason or mean is None or grid[i][j] < k:
                means[kind] = hidden(reason or SuppressionReason.SMALL_GROUP)
            else:
                means[kind] = shown(round(mean, 2))
        count_rows.append(Row(value, {attribute: value}, counts))
        mean_rows.append(Row(value, {attribute: value}, means))
    totals: Row | None = None
    if result is not None:
        m = len(values)
        totals = Row(
            "_total",
            {attribute: "Totaal"},
            {
                kind: hidden(result.reasons[(m, j)])
                if (m, j) in result.reasons
                else shown(result.values[(m, j)])
                for j, kind in enumerate(types)
            },
        )
    meta = {"family": family, "dimension": dimension, "period": year.label, "attribute": attribute}
    title_counts = Text(
        "Inwoners met verandering per profiel en interventie",
        "Residents with a change by profile and intervention",
    )
    title_means = Text(
        "Gemiddelde verandering per profiel en interventie",
        "Mean change by profile and intervention",
    )
    mean_columns = tuple(Column(c.key, c.label, ColumnKind.MEAN) for c in columns)
    return PersonaReport(
        PublishedTable(title_counts, k, (attribute,), columns, tuple(count_rows), totals, meta),
        PublishedTable(title_means, k, (attribute,), mean_columns, tuple(mean_rows), None, meta),
    )
