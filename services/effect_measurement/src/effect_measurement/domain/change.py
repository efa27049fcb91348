"""What a person's change counts as in a cell: the classification of a change into counters.

The one place for these rules: every fold (aggregate and persona cells, the general path and
its fast paths, see ``fold``) takes a cell's counters from here. Whether a change counts as
improved, same or worse is ``scales.classify_change`` (the thresholds per scale).

Results are cached: few distinct argument sets occur (values on small scales).
"""

from __future__ import annotations

from functools import lru_cache

from effect_measurement.domain.accumulator import (
    BASELINE_COUNT,
    BASELINE_ONLY,
    BASELINE_SUM,
    CHANGE_COUNT,
    CHANGE_SUM,
    MEASURED,
    OUTCOME_INDEX,
    Sparse,
    centi,
)
from effect_measurement.domain.scales import ORDINAL_SCALES, Scale, classify_change

#: A person counted once (the ``_all`` cells: measured with the family at all).
MEASURED_ONCE: Sparse = (((MEASURED, 1),), None)


def _change_counts(delta: float, scale: Scale) -> tuple[tuple[int, int], ...]:
    """A change against the baseline: its outcome, the change count and sum."""
    counts = ((OUTCOME_INDEX[classify_change(delta, scale)], 1), (CHANGE_COUNT, 1))
    return (*counts, (CHANGE_SUM, centi(delta))) if centi(delta) else counts


@lru_cache(maxsize=8192)
def series_contribution(
    baseline: float, in_baseline_period: bool, value: float, is_baseline: bool, scale: Scale
) -> Sparse:
    """An aggregate cell's counters for one series (a trajectory's dimension) in one period
    whose last point holds ``value``: measured once; the baseline's value when the baseline
    falls in the period; ``baseline_only`` while the last point is the baseline, otherwise
    the change of the last point against the baseline (and the move, on ordinal scales)."""
    counts: tuple[tuple[int, int], ...] = ((MEASURED, 1),)
    if in_baseline_period:
        counts += ((BASELINE_COUNT, 1), (BASELINE_SUM, centi(baseline)))
    if is_baseline:
        return (*counts, (BASELINE_ONLY, 1)), None
    counts += _change_counts(value - baseline, scale)
    move = f"{int(baseline)}>{int(value)}" if scale in ORDINAL_SCALES else None
    return counts, move


@lru_cache(maxsize=4096)
def change_contribution(delta: float, scale: Scale) -> Sparse:
    """A persona cell's counters for one change against the baseline: measured once, the
    outcome, the change count and sum."""
    return ((MEASURED, 1), *_change_counts(delta, scale)), None
