"""Search projection of an entry: what the in-memory search index keeps instead of the entry.

- `project(entry, analyzer, taxonomy)` gives the JSON-ready projection the adapter stores on
  the entry document (`search`), so building the index never parses entry bodies.
- `SearchProjection` keeps only what search needs: tokens with their best field weight
  (title 3 > category 2 > description 1, precomputed), categories, located points (lat/lon,
  accessibility), audience, cost, languages, schedules (parsed lazily, only for "open now" /
  weekday filters), freshness facts (assured_at, open reporters, the announced `hidden`),
  status, name. Its JSON form holds no date-time strings: `assured` is µs since the epoch.
- `thresholds` turns the freshness facts into three moments (µs since the epoch), so the
  freshness state at query time is a few integer comparisons.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.model import Entry, Location, LocationType, Schedule, ServiceStatus
from social_map.domain.ranking import FIELD_WEIGHTS, entry_field_tokens
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer

PROJECTION_VERSION = 1
_SHOWN = frozenset({ServiceStatus.ACTIVE.value, ServiceStatus.TEMPORARILY_CLOSED.value})


def project(entry: Entry, analyzer: Analyzer, taxonomy: Taxonomy) -> dict[str, Any]:
    """JSON-ready search projection of an entry (stored beside the entry body)."""
    weights: dict[str, float] = {}
    for fld, tokens in entry_field_tokens(entry, analyzer, taxonomy).items():
        w = FIELD_WEIGHTS[fld]
        for token in tokens:
            if weights.get(token, 0.0) < w:
                weights[token] = w
    return {
        "pv": PROJECTION_VERSION,
        "name": entry.name,
        "kind": entry.kind.value,
        "status": entry.status.value,
        "cats": list(entry.category_codes),
        "tok": {t: weights[t] for t in sorted(weights)},
        "locs": [_loc(loc) for loc in entry.locations],
        "age": [entry.eligibility.minimum_age, entry.eligibility.maximum_age],
        "free": entry.cost.free,
        "langs": sorted({lang.code for lang in entry.languages}),
        "assured": epoch_us(entry.assured_at) if entry.assured_at else None,
        "reporters": len({r.reporter for r in entry.outdated_reports if r.is_open}),
        "sch": [s.model_dump(mode="json") for s in entry.schedules],
    }


def _loc(loc: Location) -> list[Any]:
    codes = sorted({a.code for a in loc.accessibility})
    return [loc.id, loc.latitude, loc.longitude, loc.location_type.value, codes]


@dataclass(slots=True)
class SearchProjection:
    id: str
    version: int
    hidden: bool  # the state last announced (sweep), like the stored `hidden` field
    name: str
    sort_name: str
    kind: str
    shown: bool  # status active or temporarily closed
    categories: frozenset[str]
    weights: dict[str, float]
    points: tuple[tuple[str, float, float], ...]  # (location id, lat, lon)
    access: tuple[frozenset[str], ...]  # per location (also virtual ones)
    online_only: bool
    min_age: int
    max_age: int
    free: bool
    languages: frozenset[str]
    assured_at: datetime | None
    open_reporters: int
    raw_schedules: list[dict[str, Any]]
    _schedules: tuple[Schedule, ...] | None = field(default=None, repr=False)
    # derived at projection time for the scoring loop of `SearchIndex.search_page`:
    # (location id, lat, lon, radians(lat), cos(radians(lat))) per located point
    geo: tuple[tuple[str, float, float, float, float], ...] = field(default=(), repr=False)
    access_any: frozenset[str] = field(default=frozenset(), repr=False)  # union of `access`
    # freshness thresholds under the index's current policy, in µs since the epoch
    # (see `_thresholds`): the state is a few integer comparisons against `now`
    due_us: int = field(default=0, repr=False)
    stale_us: int = field(default=0, repr=False)
    hidden_us: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        radians, cos = math.radians, math.cos
        self.geo = tuple(
            (lid, lat, lon, radians(lat), cos(radians(lat))) for lid, lat, lon in self.points
        )
        self.access_any = frozenset().union(*self.access)

    @classmethod
    def from_json(
        cls, entry_id: str, version: int, hidden: bool, data: dict[str, Any]
    ) -> SearchProjection:
        intern = sys.intern
        locs = data["locs"]
        points = tuple(
            (str(lid), float(lat), float(lon))
            for lid, lat, lon, _, _ in locs
            if lat is not None and lon is not None
        )
        lo, hi = data["age"]
        assured = data["assured"]
        return cls(
            id=entry_id,
            version=version,
            hidden=hidden,
            name=data["name"],
            sort_name=data["name"].casefold(),
            kind=data["kind"],
            shown=data["status"] in _SHOWN,
            categories=frozenset(data["cats"]),
            weights={intern(t): float(w) for t, w in data["tok"].items()},
            points=points,
            access=tuple(frozenset(loc[4]) for loc in locs),
            online_only=bool(locs) and all(loc[3] == LocationType.VIRTUAL.value for loc in locs),
            min_age=0 if lo is None else int(lo),
            max_age=200 if hi is None else int(hi),
            free=bool(data["free"]),
            languages=frozenset(data["langs"]),
            assured_at=None if assured is None else _EPOCH + int(assured) * _US,
            open_reporters=int(data["reporters"]),
            raw_schedules=data["sch"],
        )

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        if self._schedules is None:
            self._schedules = tuple(Schedule.model_validate(s) for s in self.raw_schedules)
        return self._schedules


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
NEVER = 1 << 62  # later than any timestamp
ALWAYS = -(1 << 62)  # earlier than any timestamp


def epoch_us(moment: datetime) -> int:
    """Exact µs since the epoch (integer arithmetic, like the timedeltas of `freshness`)."""
    return (moment - _EPOCH) // _US


def thresholds(p: SearchProjection, policy: FreshnessPolicy) -> tuple[int, int, int]:
    """(due, stale, hidden) moments of `freshness.freshness_state` for this projection: the
    state at `now` is HIDDEN if now >= hidden, else STALE if now >= stale, else DUE if
    now >= due, else FRESH. Open reports move due and stale earlier (never hidden) and make
    the entry at least due; never assured → always due."""
    if p.assured_at is None:
        return ALWAYS, NEVER, NEVER
    base = epoch_us(p.assured_at)
    day = 86_400_000_000
    shift = policy.report_penalty_days * p.open_reporters * day
    due = ALWAYS if p.open_reporters else base + policy.remind_after_days * day
    return due, base + policy.stale_after_days * day - shift, base + policy.hidden_after_days * day
