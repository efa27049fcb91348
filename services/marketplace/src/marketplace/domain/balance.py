"""Demand and supply per neighbourhood and category, for organisation admins and analysts:
open requests against open offers and available volunteers, median time to first response,
match rate and completed help, with the tenant's statistical disclosure control.

The rules are effect measurement's (docs/decisions.md "statistics over time",
`effect_measurement/domain/disclosure.py`), applied to these tables so that comparing the
figures before and after one person's post does not reveal the post:

1. **Whole rows**: a neighbourhood × category cell with fewer than k requests or k supply
   publishes nothing but "suppressed" (its zeros included).
2. **Nothing published moves with a hidden cell**: the coarser tables (per neighbourhood,
   per category) add up only the cells the fine table publishes, so a post in a suppressed
   cell changes no published figure at all; and the rows listed are the fixed grid of the
   tenant's neighbourhoods and categories, so a first post in an empty cell does not add a
   row either. (No complementary suppression is needed: no published total includes a hidden
   cell, so none can be solved by subtraction.)
3. **Small counts in published rows** (0 <= n < k) are suppressed, with what is computed
   from them (ratio, rate, median).
4. **Rounding to a base** (default 5): published counts are rounded half up; ratio and match
   rate are computed from the rounded counts and the median is given in whole hours, so a
   figure whose true value did not change is published unchanged, and one more post moves a
   published row's figures only when a count crosses a rounding boundary.

What it does not hide (the same limit as effect measurement's): a post that lifts its cell
to k makes the cell appear, and a post in a published row moves its counts by one before
rounding (its median by at most one response).
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


def round_to_base(value: int, base: int) -> int:
    """`value` rounded half up to a multiple of `base` (base 1: unchanged)."""
    if base <= 1:
        return value
    return ((value + base // 2) // base) * base


def _shown(n: int, k: int, base: int) -> int | None:
    return round_to_base(n, base) if n >= k else None


def _small(t: Tally, k: int) -> bool:
    """A cell whose base counts are below k is not shown at all (its zeros included)."""
    return t.requests < k or t.supply < k


def _hidden_row(key: tuple[str | None, str | None]) -> Row:
    return Row(key[0], key[1], None, None, None, None, None, None, None, True)


def _row(key: tuple[str | None, str | None], t: Tally, k: int, base: int) -> Row:
    if _small(t, k):
        return _hidden_row(key)
    requests, supply = round_to_base(t.requests, base), round_to_base(t.supply, base)
    open_requests = _shown(t.open_requests, k, base)
    ratio = round(open_requests / supply, 3) if open_requests is not None else None
    responses = t.first_response_hours
    median = round(statistics.median(responses)) if len(responses) >= k else None
    matched = _shown(t.matched, k, base)
    rate = round(matched / requests, 3) if matched is not None else None
    return Row(
        key[0],
        key[1],
        requests,
        open_requests,
        supply,
        ratio,
        median,
        rate,
        _shown(t.completed, k, base),
        None in (open_requests, median, rate, _shown(t.completed, k, base)),
    )


def table(
    cells: dict[tuple[str, str], Tally],
    by: GroupBy,
    k: int,
    *,
    neighbourhoods: Iterable[str] = (),
    categories: Iterable[str] = (),
    base: int = 5,
) -> list[Row]:
    """Rows sorted by key, one per neighbourhood and/or category of the grid (the tenant's
    neighbourhoods and categories, plus any cell's own keys), whether or not anyone posted
    there. Coarser rows add up published cells only (rule 2)."""
    hoods = sorted(set(neighbourhoods) | {h for h, _ in cells})
    codes = sorted(set(categories) | {c for _, c in cells})
    published = {key: t for key, t in cells.items() if not _small(t, k)}
    groups = aggregate(published, by)
    if by is GroupBy.BOTH:
        keys: list[tuple[str | None, str | None]] = [(h, c) for h in hoods for c in codes]
    elif by is GroupBy.NEIGHBOURHOOD:
        keys = [(h, None) for h in hoods]
    else:
        keys = [(None, c) for c in codes]
    return [_row(key, groups[key], k, base) if key in groups else _hidden_row(key) for key in keys]


def tally_cells(
    rows: Iterable[tuple[str, str, Tally]],
) -> dict[tuple[str, str], Tally]:
    cells: dict[tuple[str, str], Tally] = {}
    for hood, category, tally in rows:
        cells.setdefault((hood, category), Tally()).add(tally)
    return cells
