"""Benchmark one organisation against the tenant's other organisations on one report key.

Only organisations with at least k people behind the metric take part; percentiles (p25, p50,
p75, linear interpolation) need at least three others. Others are shown as "Organisatie A/B/..."
in order of their value (ties broken by a per-response salt), so a letter says nothing about
who it is, unless the organisation opted in to be named. Counts of others are never shown.
An organisation's figures sum its published rows only (`disclosure.py`): rows with fewer
than k residents measured, suppressed whole in the report, are left out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.keys import CellKey
from effect_measurement.domain.reports import ReportKey
from effect_measurement.domain.tables import SuppressionReason

MIN_OTHERS_FOR_PERCENTILES = 3


class Metric(StrEnum):
    MEAN_CHANGE = "mean_change"
    SHARE_IMPROVED = "share_improved"
    MEAN_BASELINE = "mean_baseline"


@dataclass(frozen=True, slots=True)
class BenchmarkEntry:
    label: str
    value: float
    named: bool


@dataclass(frozen=True, slots=True)
class Benchmark:
    metric: Metric
    own_value: float | None
    own_reason: SuppressionReason | None
    others: tuple[BenchmarkEntry, ...]
    percentiles: Mapping[str, float] | None  # {"p25":..,"p50":..,"p75":..}


def _org_totals(
    cells: Mapping[CellKey, Accumulator], key: ReportKey, k: int
) -> dict[str, Accumulator]:
    """Per organisation, the sum of its published rows (a row with fewer than k residents
    measured is suppressed whole in the report; its follow-ups must not move a benchmark)."""
    totals: dict[str, Accumulator] = {}
    for cell, value in cells.items():
        if value.measured >= k and (cell.tenant, cell.family, cell.dimension, cell.period) == (
            key.tenant,
            key.family,
            key.dimension,
            key.period,
        ):
            totals[cell.organisation] = totals.get(cell.organisation, Accumulator()).combined(value)
    return totals


def metric_value(value: Accumulator, metric: Metric) -> tuple[float | None, int]:
    """(value, number of people behind it)."""
    if metric is Metric.MEAN_BASELINE:
        return value.mean_baseline, value.baseline_count
    if metric is Metric.MEAN_CHANGE:
        return value.mean_change, value.change_count
    share = value.improved / value.change_count if value.change_count else None
    return share, value.change_count


def percentile(sorted_values: list[float], fraction: float) -> float:
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def anonymous_label(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"Organisatie {letters}"


def build_benchmark(
    cells: Mapping[CellKey, Accumulator],
    key: ReportKey,
    organisation: str,
    metric: Metric,
    k: int,
    salt: str,
    named_organisations: Collection[str] = (),
) -> Benchmark:
    totals = _org_totals(cells, key, k)
    own = totals.get(organisation, Accumulator())
    own_value, own_n = metric_value(own, metric)
    own_reason = None if own_value is not None and own_n >= k else SuppressionReason.SMALL_COUNT
    others: list[tuple[float, str, str]] = []
    for org, accumulator in totals.items():
        result, n = metric_value(accumulator, metric)
        if org == organisation or result is None or n < k:
            continue
        tie = hashlib.sha256(f"{salt}|{org}".encode()).hexdigest()
        others.append((round(result, 4), tie, org))
    others.sort()
    entries: list[BenchmarkEntry] = []
    anonymous = 0
    for value, _, org in others:
        if org in named_organisations:
            entries.append(BenchmarkEntry(org, value, True))
        else:
            entries.append(BenchmarkEntry(anonymous_label(anonymous), value, False))
            anonymous += 1
    percentiles: Mapping[str, float] | None = None
    if len(others) >= MIN_OTHERS_FOR_PERCENTILES:
        values = [v for v, _, _ in others]
        percentiles = {
            name: round(percentile(values, q), 4)
            for name, q in (("p25", 0.25), ("p50", 0.5), ("p75", 0.75))
        }
    return Benchmark(
        metric,
        None if own_reason else round(own_value or 0.0, 4),
        own_reason,
        tuple(entries),
        percentiles,
    )
