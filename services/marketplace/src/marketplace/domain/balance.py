"""Demand and supply per neighbourhood and category, for organisation admins and analysts:
open requests against open offers and available volunteers, median time to first response,
match rate and completed help, with the tenant's small-cell suppression.

Suppression (architecture §9): a count below the tenant's k (zeros included: "none here" is a
fact about few people too) is not shown, and neither is anything computed from it (ratio,
rate, median). When one cell of a group is suppressed and the group's total is shown, the
next smallest cell of the group is suppressed too, so the hidden one cannot be worked out by
subtraction.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class GroupBy(StrEnum):
    NEIGHBOURHOOD = "neighbourhood"
    CATEGORY = "category"
    BOTH = "both"


@dataclass
class Tally:
    """What is counted for one neighbourhood × category (raw, before suppression)."""

    requests: int = 0  # requests published
    open_requests: int = 0
    supply: int = 0  # open offers and vacancies, plus active volunteers for the category
    matched: int = 0  # requests with an accepted match (or done)
    completed: int = 0  # help completed (any post kind)
    first_response_hours: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.requests += other.requests
        self.open_requests += other.open_requests
        self.supply += other.supply
        self.matched += other.matched
        self.completed += other.completed
        self.first_response_hours += other.first_response_hours


@dataclass(frozen=True)
class Row:
    neighbourhood_code: str | None
    category: str | None
    requests: int | None
    open_requests: int | None
    supply: int | None
    demand_supply_ratio: float | None
    median_hours_to_first_response: float | None
    match_rate: float | None
    completed: int | None
    suppressed: bool


def _key(hood: str, category: str, by: GroupBy) -> tuple[str | None, str | None]:
    if by is GroupBy.NEIGHBOURHOOD:
        return hood, None
    if by is GroupBy.CATEGORY:
        return None, category
    return hood, category


def aggregate(
    cells: dict[tuple[str, str], Tally], by: GroupBy
) -> dict[tuple[str | None, str | None], Tally]:
    out: dict[tuple[str | None, str | None], Tally] = {}
    for (hood, category), tally in cells.items():
        out.setdefault(_key(hood, category, by), Tally()).add(tally)
    return out


def _shown(n: int, k: int) -> int | None:
    return n if n >= k else None


def _small(t: Tally, k: int) -> bool:
    """A row whose base counts are below k is not shown at all (its zeros included)."""
    return t.requests < k or t.supply < k


def _row(key: tuple[str | None, str | None], t: Tally, k: int, hidden: bool) -> Row:
    if hidden:
        return Row(key[0], key[1], None, None, None, None, None, None, None, True)
    open_requests = _shown(t.open_requests, k)
    ratio = round(open_requests / t.supply, 3) if open_requests is not None else None
    responses = t.first_response_hours
    median = round(statistics.median(responses), 2) if len(responses) >= k else None
    matched = _shown(t.matched, k)
    rate = round(t.matched / t.requests, 3) if matched is not None else None
    completed = _shown(t.completed, k)
    return Row(
        key[0],
        key[1],
        t.requests,
        open_requests,
        t.supply,
        ratio,
        median,
        rate,
        completed,
        None in (open_requests, median, rate, completed),
    )


def table(cells: dict[tuple[str, str], Tally], by: GroupBy, k: int) -> list[Row]:
    """Rows sorted by key. Complementary suppression per partition whose total can be known:
    all rows of a one-dimensional table (they add up to the tenant's total), and each
    neighbourhood's categories in the two-dimensional one."""
    groups = aggregate(cells, by)
    keys = sorted(groups, key=lambda key: (key[0] or "", key[1] or ""))
    hidden = {key for key in keys if _small(groups[key], k)}
    partitions: dict[str | None, list[tuple[str | None, str | None]]] = {}
    for key in keys:
        partitions.setdefault(key[0] if by is GroupBy.BOTH else None, []).append(key)
    for members in partitions.values():
        small = [m for m in members if m in hidden]
        shown = sorted(
            (m for m in members if m not in hidden),
            key=lambda m: (groups[m].requests, groups[m].supply, m[0] or "", m[1] or ""),
        )
        if len(small) == 1 and shown:
            hidden.add(shown[0])
    return [_row(key, groups[key], k, key in hidden) for key in keys]


def tally_cells(
    rows: Iterable[tuple[str, str, Tally]],
) -> dict[tuple[str, str], Tally]:
    cells: dict[tuple[str, str], Tally] = {}
    for hood, category, tally in rows:
        cells.setdefault((hood, category), Tally()).add(tally)
    return cells
