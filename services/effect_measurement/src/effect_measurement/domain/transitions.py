"""Phase / level movement (from -> to) of a report, tenant-wide, published all-or-nothing.

Transition counts carry extra equations (the moves upwards add up to "improved"), which
complementary suppression of a from x to table does not cover. So the matrix is shown only
when every non-zero cell has at least k people, the report's outcome totals are published,
and no linked report's matrix that could be published differs by 1..k-1 in any cell;
otherwise nothing is shown. A linked report whose own totals are withheld never shows its
matrix, so it is not compared: compared, an empty month's matrix turned "differencing" once
a hidden row's follow-up added one move to its quarter, telling that a follow-up happened.
A report with a row suppressed whole publishes no outcome totals (`disclosure.py`), so its
matrix, which would move with that row's follow-ups, is withheld. Counts shown are rounded
to the tenant's base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.disclosure import round_to_base
from effect_measurement.domain.keys import CellKey
from effect_measurement.domain.periods import nested_periods
from effect_measurement.domain.reports import ReportKey, build_report
from effect_measurement.domain.tables import PublishedTable, SuppressionReason

STEPS = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class TransitionMatrix:
    counts: Mapping[tuple[int, int], int] | None  # None when withheld
    reason: SuppressionReason | None


def _raw(cells: Mapping[CellKey, Accumulator], key: ReportKey) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for cell, value in cells.items():
        if (cell.tenant, cell.family, cell.dimension, cell.period) != (
            key.tenant,
            key.family,
            key.dimension,
            key.period,
        ):
            continue
        for move, count in value.transitions.items():
            a, b = (int(x) for x in move.split(">"))
            counts[(a, b)] = counts.get((a, b), 0) + count
    return {move: count for move, count in counts.items() if count}


def _totals_published(report: PublishedTable) -> bool:
    totals = report.totals
    return totals is not None and not any(
        totals.cells[c].suppressed for c in ("improved", "same", "worse")
    )


def build_transitions(
    cells: Mapping[CellKey, Accumulator],
    key: ReportKey,
    report: PublishedTable,
    k: int,
    *,
    rounding_base: int = 1,
) -> TransitionMatrix:
    # The totals first: withheld for them, the reason must not tell whether a hidden row's
    # follow-up added a move.
    if not _totals_published(report):
        return TransitionMatrix(None, SuppressionReason.COMPLEMENTARY)
    counts = _raw(cells, key)
    if any(0 < c < k for c in counts.values()):
        return TransitionMatrix(None, SuppressionReason.SMALL_COUNT)
    for period in nested_periods(key.period):
        linked = ReportKey(key.tenant, key.family, key.dimension, period)
        if not _totals_published(build_report(cells, linked, k)):
            continue  # its matrix is never shown: nothing to difference against
        other = _raw(cells, linked)
        for move in set(counts) | set(other):
            if 0 < abs(counts.get(move, 0) - other.get(move, 0)) < k:
                return TransitionMatrix(None, SuppressionReason.DIFFERENCING)
    return TransitionMatrix({m: round_to_base(c, rounding_base) for m, c in counts.items()}, None)
