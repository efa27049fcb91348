"""Ids per filter value, so a query's filters narrow its candidates with set operations.

`Facets` holds, kept current on every upsert/remove of the index: entries that cost money,
entries per kind, language, category, accessibility feature (at any location), and per age
bound that can exclude an age (not the open ends 0 and 200, which hold most entries).
`Facets.narrow` applies `SearchFilters` except what sets cannot say: the schedule filters,
and — with several accessibility features — that one location offers them all. Those stay
per entry (`search_index._Filter`).

`Visibility` is the set of entries search must not show at a moment: status not shown,
announced hidden, or hidden by age under the freshness policy. It is computed once and then
stays valid until the next freshness threshold passes; upserts keep it current.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from social_map.domain.filters import SearchFilters
from social_map.domain.search_projection import NEVER, SearchProjection

K = TypeVar("K")
#: the age bounds of a projection without a limit (`SearchProjection.from_json`); a query's
#: age is 0–120, so they never exclude it
_YOUNGEST = 0
_OPEN_END = 200


class Facets:
    __slots__ = (
        "_access",
        "_categories",
        "_kinds",
        "_languages",
        "_max_ages",
        "_min_ages",
        "_paid",
    )

    def __init__(self) -> None:
        self._paid: set[str] = set()  # most entries are free: keep the smaller side
        self._kinds: dict[str, set[str]] = {}
        self._languages: dict[str, set[str]] = {}
        self._categories: dict[str, set[str]] = {}
        self._access: dict[str, set[str]] = {}
        self._min_ages: dict[int, set[str]] = {}
        self._max_ages: dict[int, set[str]] = {}

    def _keys(self, p: SearchProjection) -> Iterable[tuple[dict[str, set[str]], str]]:
        yield self._kinds, p.kind
        for code in p.languages:
            yield self._languages, code
        for code in p.categories:
            yield self._categories, code
        for code in p.access_any:
            yield self._access, code

    def add(self, p: SearchProjection) -> None:
        if not p.free:
            self._paid.add(p.id)
        for index, key in self._keys(p):
            index.setdefault(key, set()).add(p.id)
        if p.min_age > _YOUNGEST:
            self._min_ages.setdefault(p.min_age, set()).add(p.id)
        if p.max_age < _OPEN_END:
            self._max_ages.setdefault(p.max_age, set()).add(p.id)

    def discard(self, p: SearchProjection) -> None:
        self._paid.discard(p.id)
        for index, key in self._keys(p):
            discard_member(index, key, p.id)
        discard_member(self._min_ages, p.min_age, p.id)
        discard_member(self._max_ages, p.max_age, p.id)

    def narrow(
        self, ids: set[str], filters: SearchFilters, categories: set[str] | None
    ) -> set[str]:
        """The ids that pass the set-expressible filters (a new set; `ids` is not changed)."""
        out = ids
        if filters.free_only:
            out = out - self._paid
        if filters.kind is not None:
            out = out & self._kinds.get(filters.kind.value, set())
        if filters.language is not None:
            out = out & self._languages.get(filters.language, set())
        for code in sorted(set(filters.accessibility)):
            out = out & self._access.get(code, set())
        if categories is not None:
            wanted: set[str] = set()
            for code in categories:
                wanted |= self._categories.get(code, set())
            out = out & wanted
        if filters.age is not None:
            age = filters.age
            for low, members in self._min_ages.items():
                if low > age:
                    out = out - members
            for high, members in self._max_ages.items():
                if high < age:
                    out = out - members
        return out if out is not ids else set(ids)


def discard_member(index: dict[K, set[str]], key: K, entry_id: str) -> None:
    """Remove an id from the set under `key`, and the key once its set is empty."""
    ids = index.get(key)
    if ids is not None:
        ids.discard(entry_id)
        if not ids:
            del index[key]


class Visibility:
    """Entries not to show at `now_us`, valid for moments in [since, until)."""

    __slots__ = ("hidden", "since", "until")

    def __init__(self, entries: Iterable[SearchProjection], now_us: int) -> None:
        self.hidden: set[str] = set()
        self.since = now_us
        self.until = NEVER
        for p in entries:
            self.update(p)

    def valid_at(self, now_us: int) -> bool:
        return self.since <= now_us < self.until

    def update(self, p: SearchProjection) -> None:
        """Take an upserted projection (thresholds current) into account."""
        if p.hidden or not p.shown or p.hidden_us <= self.since:
            self.hidden.add(p.id)
        else:
            self.hidden.discard(p.id)
            if p.hidden_us < self.until:
                self.until = p.hidden_us
