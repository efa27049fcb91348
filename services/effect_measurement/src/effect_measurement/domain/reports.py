"""Aggregate report: the one published view of a projection slice, with all privacy rules.

A report is fixed by (tenant, family, dimension, period). Rows are the leaves organisation x
neighbourhood; columns the outcome partition baseline_only / improved / same / worse, the row
total is "residents measured" (for ``_all``: a single "measured" column). Column totals and the
grand total are the tenant's true totals. A view for one organisation is a slice of the same
report: one suppression decision serves every view, so two views cannot be combined to undo it.

Differencing defence (linked tables): the populations of two reports nest when their periods
nest (month in quarter in year) and their dimensions are equal or one is ``_all``. For every
figure the two reports share (same row and column), if the raw values differ by 1..k-1 the figure
is suppressed in BOTH (the rule is symmetric, so each report reaches the same decision
independently). Hence no two published figures of nesting reports differ by fewer than k people.
The same check guards the hidden counts behind means.

Over time (`disclosure.py`, the method): a row with fewer than k residents measured is
suppressed whole, and while any row is, the totals of the outcome columns are not published
(a follow-up in the hidden row would move them); a zero beside a suppressed cell is hidden;
published counts are rounded to the tenant's base. So what the same report shows after the
follow-up of a person in a row below k does not depend on the follow-up's outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.disclosure import round_to_base
from effect_measurement.domain.keys import ALL_DIMENSIONS, CellKey
from effect_measurement.domain.periods import Period, nested_periods
from effect_measurement.domain.suppression import Position, suppress
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

TOTAL = "_total"
MEASURED = "measured"
OUTCOME_COLUMNS: tuple[Column, ...] = (
    Column("baseline_only", Text("Alleen beginmeting", "Baseline only")),
    Column("improved", Text("Vooruit", "Improved")),
    Column("same", Text("Gelijk", "Same")),
    Column("worse", Text("Achteruit", "Worse")),
)
MEASURED_COLUMN = Column(MEASURED, Text("Inwoners gemeten", "Residents measured"))
MEAN_COLUMNS: tuple[Column, ...] = (
    Column("mean_baseline", Text("Gem. beginmeting", "Mean baseline"), ColumnKind.MEAN),
    Column("mean_change", Text("Gem. verandering", "Mean change"), ColumnKind.MEAN),
)
_MEAN_COUNTS = {"mean_baseline": "baseline_count", "mean_change": "change_count"}

Leaf = tuple[str, str]  # (organisation, neighbourhood)
Named = dict[tuple[str, str], int]  # (row key, column key) -> raw value


@dataclass(frozen=True, slots=True)
class ReportKey:
    tenant: str
    family: str
    dimension: str
    period: Period


def leaf_key(leaf: Leaf) -> str:
    return f"{leaf[0]}/{leaf[1]}"


Slices = dict[tuple[str, str, str, str], dict[Leaf, Accumulator]]


def _slices(cells: Mapping[CellKey, Accumulator]) -> Slices:
    """Every report's leaves at once, by (tenant, family, dimension, period label): one pass
    over the cells instead of one per linked report."""
    result: Slices = {}
    for cell, value in cells.items():
        if value.measured > 0:
            slot = (cell.tenant, cell.family, cell.dimension, cell.period.label)
            leaves = result.get(slot)
            if leaves is None:
                leaves = result[slot] = {}
            leaves[(cell.organisation, cell.neighbourhood)] = value
    return result


def _slice(slices: Slices, key: ReportKey) -> dict[Leaf, Accumulator]:
    return slices.get((key.tenant, key.family, key.dimension, key.period.label), {})


def _columns(dimension: str) -> tuple[Column, ...]:
    return (MEASURED_COLUMN,) if dimension == ALL_DIMENSIONS else OUTCOME_COLUMNS


def _named(leaves: Mapping[Leaf, Accumulator], dimension: str) -> Named:
    """Every figure a report would show, plus the hidden counts behind its means, by name."""
    named: Named = {}
    columns = [c.key for c in _columns(dimension)]
    hidden_counts = [] if dimension == ALL_DIMENSIONS else list(_MEAN_COUNTS.values())
    for leaf, value in leaves.items():
        for column in [*columns, MEASURED, *hidden_counts]:
            named[(leaf_key(leaf), column)] = int(getattr(value, column))
    for column in [*columns, MEASURED]:
        named[(TOTAL, column)] = sum(int(getattr(v, column)) for v in leaves.values())
    return named


def _withheld(leaves: Mapping[Leaf, Accumulator], dimension: str, k: int) -> set[tuple[str, str]]:
    """Figures a report hides by the rules over time whatever else holds (`disclosure.py`):
    the whole of each row below k and, while there is one, the outcome totals. They move
    with the hidden rows' follow-ups, so a linked report must not decide on them either:
    its decision (shown or hidden as differencing) would be published in their place."""
    small = [leaf for leaf, value in leaves.items() if value.measured < k]
    withheld = {
        (leaf_key(leaf), column)
        for leaf in small
        for column in [c.key for c in _columns(dimension)] + [MEASURED, *_MEAN_COUNTS.values()]
    }
    if small and dimension != ALL_DIMENSIONS:
        withheld |= {(TOTAL, c.key) for c in OUTCOME_COLUMNS}
    return withheld


def linked_reports(key: ReportKey, dimensions: set[str]) -> list[ReportKey]:
    """Reports whose populations nest with this one (the adapter loads their cells too)."""
    periods = [key.period, *nested_periods(key.period)]
    result = []
    for dimension in sorted(dimensions | {ALL_DIMENSIONS}):
        if dimension != key.dimension and ALL_DIMENSIONS not in (dimension, key.dimension):
            continue
        for period in periods:
            if (dimension, period) != (key.dimension, key.period):
                result.append(ReportKey(key.tenant, key.family, dimension, period))
    return result


def _differencing_risks(
    cells: Mapping[CellKey, Accumulator], slices: Slices, key: ReportKey, own: Named, k: int
) -> set[tuple[str, str]]:
    dimensions = {c.dimension for c in cells if c.family == key.family}
    risky: set[tuple[str, str]] = set()
    for other_key in linked_reports(key, dimensions):
        leaves = _slice(slices, other_key)
        other = _named(leaves, other_key.dimension)
        withheld = _withheld(leaves, other_key.dimension, k)
        for name, value in own.items():
            if name not in withheld and 0 < abs(value - other.get(name, 0)) < k:
                risky.add(name)
    return risky


def build_report(
    cells: Mapping[CellKey, Accumulator],
    key: ReportKey,
    k: int,
    organisation_labels: Mapping[str, str] | None = None,
    *,
    rounding_base: int = 1,
) -> PublishedTable:
    """The published report; ``cells`` must hold this report's and its linked reports' cells.
    ``rounding_base``: published counts are rounded to it (the service passes the tenant's)."""
    slices = _slices(cells)
    leaves_map = _slice(slices, key)
    leaves = sorted(leaves_map)
    data_columns = _columns(key.dimension)
    all_dims = key.dimension == ALL_DIMENSIONS
    own = _named(leaves_map, key.dimension)
    risky = _differencing_risks(cells, slices, key, own, k)

    row_keys = [leaf_key(leaf) for leaf in leaves]
    column_keys = [c.key for c in data_columns]
    values = [[own[(r, c)] for c in column_keys] for r in row_keys]
    m, n = len(row_keys), len(column_keys)

    def position(name: tuple[str, str]) -> Position | None:
        row, column = name
        i = m if row == TOTAL else row_keys.index(row)
        if column in column_keys:
            return (i, column_keys.index(column))
        if column == MEASURED and not all_dims:
            return (i, n)
        return None

    forced = [
        (pos, SuppressionReason.DIFFERENCING)
        for name in risky
        if (pos := position(name)) is not None
    ]
    # Later entries win: a small row's cells and the totals it moves get the same reason
    # whatever else holds (the reason is published too).
    small_rows = [i for i, leaf in enumerate(leaves) if leaves_map[leaf].measured < k]
    width = n if all_dims else n + 1
    forced += [((i, j), SuppressionReason.SMALL_ROW) for i in small_rows for j in range(width)]
    if small_rows and not all_dims:
        forced += [((m, j), SuppressionReason.COMPLEMENTARY) for j in range(n)]
    result = suppress(
        values,
        k,
        row_totals=not all_dims,
        column_totals=True,
        force=forced,
        columns=n,
        zeros_beside_suppressed=True,
    )

    def cell(pos: Position) -> Cell:
        reason = result.reasons.get(pos)
        return hidden(reason) if reason else shown(round_to_base(result.values[pos], rounding_base))

    def count_cells(i: int) -> dict[str, Cell]:
        out = {c: cell((i, j)) for j, c in enumerate(column_keys)}
        if not all_dims:
            out[MEASURED] = cell((i, n))
        return out

    labels = organisation_labels or {}
    rows: list[Row] = []
    for i, leaf in enumerate(leaves):
        cells_out = count_cells(i)
        if not all_dims:
            for mean_column, count_name in _MEAN_COUNTS.items():
                cells_out[mean_column] = _mean_cell(
                    leaves_map[leaf],
                    mean_column,
                    count_name,
                    cells_out[MEASURED],
                    k,
                    (row_keys[i], count_name) in risky,
                )
        rows.append(
            Row(
                row_keys[i],
                {"organisation": labels.get(leaf[0], leaf[0]), "neighbourhood": leaf[1]},
                cells_out,
            )
        )
    total_cells = count_cells(m)
    if not all_dims:
        # A tenant-wide mean would give one more equation on the hidden rows' sums.
        total_cells.update({c: hidden(SuppressionReason.NOT_PUBLISHED) for c in _MEAN_COUNTS})
    totals = Row(TOTAL, {"organisation": "Totaal", "neighbourhood": "Totaal"}, total_cells)
    columns = data_columns if all_dims else (*data_columns, MEASURED_COLUMN, *MEAN_COLUMNS)
    return PublishedTable(
        title=Text("Effecten per wijk", "Effects per neighbourhood"),
        k=k,
        row_label_fields=("organisation", "neighbourhood"),
        columns=columns,
        rows=tuple(rows),
        totals=totals,
        meta={"family": key.family, "dimension": key.dimension, "period": key.period.label},
    )


def _mean_cell(
    value: Accumulator, mean_column: str, count_name: str, measured: Cell, k: int, risky: bool
) -> Cell:
    mean = value.mean_baseline if mean_column == "mean_baseline" else value.mean_change
    if measured.suppressed or int(getattr(value, count_name)) < k or mean is None:
        return hidden(SuppressionReason.SMALL_GROUP)
    if risky:
        return hidden(SuppressionReason.DIFFERENCING)
    return shown(round(mean, 2))


def slice_for_organisation(table: PublishedTable, organisation_label: str) -> PublishedTable:
    """One organisation's rows of a report; the totals stay the tenant's published totals."""
    rows = tuple(r for r in table.rows if r.labels.get("organisation") == organisation_label)
    return PublishedTable(
        table.title,
        table.k,
        table.row_label_fields,
        table.columns,
        rows,
        table.totals,
        {**table.meta, "organisation": organisation_label},
    )
