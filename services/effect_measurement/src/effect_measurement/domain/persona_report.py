"""The persona report: people with a change and their mean change, per value of one profile
attribute x intervention type, with the same suppression as every published table.

Over time (`disclosure.py`): a row (profile value) whose counts add up to fewer than k is
suppressed whole (its counts are an upper bound of its people), a zero beside a suppressed
cell is hidden, and counts are rounded to the tenant's base. The counts do not depend on a
follow-up's outcome, only the means do, and a mean needs a published count of k or more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.disclosure import round_to_base
from effect_measurement.domain.keys import PersonaKey
from effect_measurement.domain.periods import Period
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
    *,
    rounding_base: int = 1,
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
    small_rows = [
        ((i, j), SuppressionReason.SMALL_ROW)
        for i, row in enumerate(grid)
        if sum(row) < k
        for j in range(len(types))
    ]
    result = (
        suppress(
            grid,
            k,
            row_totals=False,
            column_totals=True,
            force=small_rows,
            zeros_beside_suppressed=True,
        )
        if values
        else None
    )
    columns = tuple(Column(t, Text(t, t)) for t in types)
    count_rows: list[Row] = []
    mean_rows: list[Row] = []
    for i, value in enumerate(values):
        counts: dict[str, Cell] = {}
        means: dict[str, Cell] = {}
        for j, kind in enumerate(types):
            reason = result.reasons.get((i, j)) if result else None
            counts[kind] = (
                hidden(reason) if reason else shown(round_to_base(grid[i][j], rounding_base))
            )
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
                else shown(round_to_base(result.values[(m, j)], rounding_base))
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
