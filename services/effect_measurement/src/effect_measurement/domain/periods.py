"""Fixed reporting periods: month ("2026-11"), quarter ("2026-Q4") and year ("2026").

Boundaries are fixed on purpose: free date ranges would let two overlapping queries be
subtracted to isolate a few people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

# Periods follow the Dutch calendar: a response at 23:30 UTC on 31 March counts in April.
REPORTING_TIMEZONE = ZoneInfo("Europe/Amsterdam")


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    kind: PeriodKind
    label: str

    @property
    def year(self) -> int:
        return int(self.label[:4])

    def months(self) -> tuple[int, ...]:
        """Calendar months (1..12) this period covers."""
        if self.kind is PeriodKind.MONTH:
            return (int(self.label[5:7]),)
        if self.kind is PeriodKind.QUARTER:
            first = (int(self.label[-1]) - 1) * 3 + 1
            return (first, first + 1, first + 2)
        return tuple(range(1, 13))

    def __hash__(self) -> int:
        return hash(self.label)  # the label alone names a period (its kind follows from it)

    def __eq__(self, other: object) -> bool:
        # The label alone names a period; compared often as part of cell keys.
        return self is other or (isinstance(other, Period) and self.label == other.label)

    def contains(self, other: Period) -> bool:
        return self.year == other.year and set(other.months()) <= set(self.months())

    def nests_with(self, other: Period) -> bool:
        """One period lies inside the other (and they differ): their populations nest."""
        return self != other and (self.contains(other) or other.contains(self))


def month(year: int, month_number: int) -> Period:
    return Period(PeriodKind.MONTH, f"{year:04d}-{month_number:02d}")


def quarter(year: int, quarter_number: int) -> Period:
    return Period(PeriodKind.QUARTER, f"{year:04d}-Q{quarter_number}")


def year(year_number: int) -> Period:
    return Period(PeriodKind.YEAR, f"{year_number:04d}")


def periods_of(moment: datetime) -> tuple[Period, Period, Period]:
    """Month, quarter and year a moment falls in, on the reporting (Dutch) calendar."""
    return _periods_of_hour(_hour(moment))


def period_labels_of(moment: datetime) -> tuple[str, str, str]:
    """``periods_of`` as labels: hot loops key dicts by the label (hashed in C)."""
    return _labels_of_hour(_hour(moment))


def _hour(moment: datetime) -> int:
    """The hour since the epoch a moment falls in. The reporting zone's offsets are whole
    hours and change on the hour, so every moment of one such hour has the same local date:
    the periods are computed once per hour, not per moment (a zone conversion costs µs)."""
    return int(moment.timestamp() // 3600)


@lru_cache(maxsize=65536)
def _periods_of_hour(hour: int) -> tuple[Period, Period, Period]:
    local = datetime.fromtimestamp(hour * 3600, REPORTING_TIMEZONE)
    return (
        month(local.year, local.month),
        quarter(local.year, (local.month - 1) // 3 + 1),
        year(local.year),
    )


@lru_cache(maxsize=65536)
def _labels_of_hour(hour: int) -> tuple[str, str, str]:
    month_, quarter_, year_ = _periods_of_hour(hour)
    return month_.label, quarter_.label, year_.label


@lru_cache(maxsize=4096)
def period_of_label(label: str) -> Period:
    """The period of a label ``period_labels_of`` gave (valid by construction)."""
    period = parse_period(label)
    if period is None:
        raise ValueError(f"not a period label: {label!r}")
    return period


def parse_period(label: str) -> Period | None:
    """The period a label names, or None when the label is not one of the fixed forms."""
    if _MONTH.match(label):
        return Period(PeriodKind.MONTH, label)
    if _QUARTER.match(label):
        return Period(PeriodKind.QUARTER, label)
    if _YEAR.match(label):
        return Period(PeriodKind.YEAR, label)
    return None


def nested_periods(period: Period) -> tuple[Period, ...]:
    """Every other fixed period whose population nests with this one (same calendar year)."""
    candidates = [year(period.year)]
    candidates += [quarter(period.year, q) for q in range(1, 5)]
    candidates += [month(period.year, m) for m in range(1, 13)]
    return tuple(p for p in candidates if p.nests_with(period))


def period_index(period: Period) -> int:
    """Ordinal within its kind, for ranges: months since year 0, quarters, years."""
    if period.kind is PeriodKind.MONTH:
        return period.year * 12 + period.months()[0] - 1
    if period.kind is PeriodKind.QUARTER:
        return period.year * 4 + int(period.label[-1]) - 1
    return period.year
