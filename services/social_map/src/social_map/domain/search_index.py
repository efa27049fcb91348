"""In-memory search index of one tenant: a projection per entry, an inverted index and a grid.

Pure (no I/O, no clock): the service builds it from the database and keeps it current.

- `project(entry, analyzer, taxonomy)` gives the JSON-ready projection the adapter stores on
  the entry document (`search`), so building the index never parses entry bodies.
- `SearchProjection` keeps only what search needs: tokens with their best field weight
  (title 3 > category 2 > description 1, precomputed), categories, located points (lat/lon,
  accessibility), audience, cost, languages, schedules (parsed lazily, only for "open now" /
  weekday filters), freshness facts (assured_at, open reporters, the announced `hidden`),
  status, name.
- `SearchIndex`: token → entry ids (inverted index), grid cell (~1 km) → entry ids, and the
  set of online-only entries. A query takes the union of the postings of its tokens,
  intersects it with the cells covering the circle's bounding box (+ online offers), and
  scores only those candidates.

Scoring and order are exactly `domain.ranking.rank` (same formulas, same rounding, same tie
break), so the index and `rank` agree hit for hit (a unit test compares them).
"""

from __future__ import annotations

import heapq
import math
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from social_map.domain.filters import SearchFilters
from social_map.domain.freshness import FreshnessPolicy, FreshnessState
from social_map.domain.geo import EARTH_RADIUS_KM, GeoPoint, bounding_box, validate_radius
from social_map.domain.model import Entry, Location, LocationType, Schedule, ServiceStatus
from social_map.domain.occurrences import schedule_on_weekday_between, schedule_open_at
from social_map.domain.ranking import (
    FIELD_WEIGHTS,
    ONLINE_GEO_SCORE,
    STALE_FACTOR,
    TEXT_SHARE,
    entry_field_tokens,
)
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer, QueryTerm, TextField

PROJECTION_VERSION = 1
#: Grid cell size in degrees: ~1.0 km north-south, ~1.0 km east-west at Dutch latitudes.
CELL_LAT = 0.009
CELL_LON = 0.015
_SHOWN = frozenset({ServiceStatus.ACTIVE.value, ServiceStatus.TEMPORARILY_CLOSED.value})
_TITLE_WEIGHT = FIELD_WEIGHTS[TextField.TITLE]
#: A candidate checked in the Python loop costs about as much as intersecting this many
#: entries of grid cells with the text candidates (set operations in C); measured, rounded down.
_GRID_FACTOR = 16


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
        "assured": entry.assured_at.isoformat() if entry.assured_at else None,
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
    # derived at projection time for the hot loop of `SearchIndex.search_page`:
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
        self.geo = tuple((lid, lat, lon, radians(lat), cos(radians(lat)))
                         for lid, lat, lon in self.points)  # fmt: skip
        self.access_any = frozenset().union(*self.access)

    @classmethod
    def from_json(cls, entry_id: str, version: int, hidden: bool,
                  data: dict[str, Any]) -> SearchProjection:  # fmt: skip
        intern = sys.intern
        locs = data["locs"]
        points = tuple(
            (str(lid), float(lat), float(lon)) for lid, lat, lon, _, _ in locs
            if lat is not None and lon is not None
        )  # fmt: skip
        lo, hi = data["age"]
        assured = data["assured"]
        return cls(
            id=entry_id, version=version, hidden=hidden, name=data["name"],
            sort_name=data["name"].casefold(), kind=data["kind"],
            shown=data["status"] in _SHOWN, categories=frozenset(data["cats"]),
            weights={intern(t): float(w) for t, w in data["tok"].items()},
            points=points, access=tuple(frozenset(loc[4]) for loc in locs),
            online_only=bool(locs) and all(loc[3] == LocationType.VIRTUAL.value for loc in locs),
            min_age=0 if lo is None else int(lo), max_age=200 if hi is None else int(hi),
            free=bool(data["free"]), languages=frozenset(data["langs"]),
            assured_at=None if assured is None else datetime.fromisoformat(assured),
            open_reporters=int(data["reporters"]), raw_schedules=data["sch"],
        )  # fmt: skip

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        if self._schedules is None:
            self._schedules = tuple(Schedule.model_validate(s) for s in self.raw_schedules)
        return self._schedules


@dataclass(frozen=True, slots=True)
class IndexHit:
    entry_id: str
    version: int
    score: float
    text_score: float
    distance_km: float | None
    location_id: str | None
    freshness: FreshnessState
    stale_warning: bool
    sort_key: tuple[float, float, str, str]


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / CELL_LAT), math.floor(lon / CELL_LON))


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # the same operations as geo.haversine_km (bit-identical distances, so identical ties)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_NEVER = 1 << 62  # later than any timestamp
_ALWAYS = -(1 << 62)  # earlier than any timestamp


def _us(moment: datetime) -> int:
    """Exact µs since the epoch (integer arithmetic, like the timedeltas of `freshness`)."""
    return (moment - _EPOCH) // _US


def _thresholds(p: SearchProjection, policy: FreshnessPolicy) -> tuple[int, int, int]:
    """(due, stale, hidden) moments of `freshness.freshness_state` for this projection: the
    state at `now` is HIDDEN if now >= hidden, else STALE if now >= stale, else DUE if
    now >= due, else FRESH. Open reports move due and stale earlier (never hidden) and make
    the entry at least due; never assured → always due."""
    if p.assured_at is None:
        return _ALWAYS, _NEVER, _NEVER
    base = _us(p.assured_at)
    day = 86_400_000_000
    shift = policy.report_penalty_days * p.open_reporters * day
    due = _ALWAYS if p.open_reporters else base + policy.remind_after_days * day
    return due, base + policy.stale_after_days * day - shift, base + policy.hidden_after_days * day


class SearchIndex:
    """Projections of one tenant with their inverted index and geo grid."""

    def __init__(self) -> None:
        self.entries: dict[str, SearchProjection] = {}
        self._postings: dict[str, set[str]] = {}
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._online: set[str] = set()
        self._policy: FreshnessPolicy | None = None  # the thresholds of the entries follow it

    def __len__(self) -> int:
        return len(self.entries)

    def version_of(self, entry_id: str) -> int | None:
        p = self.entries.get(entry_id)
        return None if p is None else p.version

    def upsert(self, p: SearchProjection) -> None:
        self.remove(p.id)
        if self._policy is not None:
            p.due_us, p.stale_us, p.hidden_us = _thresholds(p, self._policy)
        self.entries[p.id] = p
        for token in p.weights:
            self._postings.setdefault(token, set()).add(p.id)
        for _, lat, lon in p.points:
            self._cells.setdefault(_cell(lat, lon), set()).add(p.id)
        if p.online_only:
            self._online.add(p.id)

    def remove(self, entry_id: str) -> None:
        old = self.entries.pop(entry_id, None)
        if old is None:
            return
        for token in old.weights:
            ids = self._postings.get(token)
            if ids is not None:
                ids.discard(entry_id)
                if not ids:
                    del self._postings[token]
        for _, lat, lon in old.points:
            cell = _cell(lat, lon)
            ids = self._cells.get(cell)
            if ids is not None:
                ids.discard(entry_id)
                if not ids:
                    del self._cells[cell]
        self._online.discard(entry_id)

    def _use_policy(self, policy: FreshnessPolicy) -> None:
        """Recompute the freshness thresholds of all entries when the policy changed."""
        if policy is self._policy:
            return
        if policy == self._policy:
            self._policy = policy  # an equal copy (e.g. re-read from the database)
            return
        for p in self.entries.values():
            p.due_us, p.stale_us, p.hidden_us = _thresholds(p, policy)
        self._policy = policy

    # -- candidates ------------------------------------------------------------------------

    def _text_candidates(self, terms: list[QueryTerm]) -> set[str]:
        out: set[str] = set()
        for term in terms:
            for token in term.alternatives:
                ids = self._postings.get(token)
                if ids:
                    out |= ids
        return out

    def _cell_range(self, center: GeoPoint, radius_km: float) -> tuple[int, int, int, int]:
        box = bounding_box(center, radius_km)
        lo_lat, lo_lon = _cell(box.min_lat, box.min_lon)
        hi_lat, hi_lon = _cell(box.max_lat, box.max_lon)
        return lo_lat, hi_lat, lo_lon, hi_lon

    def _geo_estimate(self, center: GeoPoint, radius_km: float) -> int:
        """Upper bound of the geo candidates without building the set."""
        lo_lat, hi_lat, lo_lon, hi_lon = self._cell_range(center, radius_km)
        if (hi_lat - lo_lat + 1) * (hi_lon - lo_lon + 1) > len(self._cells):
            return len(self.entries)
        cells = self._cells
        total = len(self._online)
        for ca in range(lo_lat, hi_lat + 1):
            for co in range(lo_lon, hi_lon + 1):
                found = cells.get((ca, co))
                if found:
                    total += len(found)
        return total

    def _geo_candidates(
        self, center: GeoPoint, radius_km: float, within: set[str] | None = None
    ) -> set[str]:
        """Entries in the cells of the circle's bounding box (+ online offers); only those in
        `within` if given (intersected cell by cell: no set of the whole box is built)."""
        lo_lat, hi_lat, lo_lon, hi_lon = self._cell_range(center, radius_km)
        online = self._online
        out = set(online) if within is None else online & within
        if (hi_lat - lo_lat + 1) * (hi_lon - lo_lon + 1) > len(self._cells):
            for (ca, co), ids in self._cells.items():
                if lo_lat <= ca <= hi_lat and lo_lon <= co <= hi_lon:
                    out |= ids if within is None else ids & within
            return out
        cells = self._cells
        for ca in range(lo_lat, hi_lat + 1):
            for co in range(lo_lon, hi_lon + 1):
                found = cells.get((ca, co))
                if found:
                    out |= found if within is None else found & within
        return out

    # -- query -----------------------------------------------------------------------------

    def search(
        self,
        *,
        terms: list[QueryTerm],
        filters: SearchFilters,
        categories: set[str] | None,
        policy: FreshnessPolicy,
        now: datetime,
        today: date,
        center: GeoPoint | None = None,
        radius_km: float = 5.0,
    ) -> list[IndexHit]:
        """All hits, ranked like `ranking.rank` with `filters.build_predicate`."""
        return self.search_page(terms=terms, filters=filters, categories=categories,
                                policy=policy, now=now, today=today, center=center,
                                radius_km=radius_km)[0]  # fmt: skip

    def search_page(
        self,
        *,
        terms: list[QueryTerm],
        filters: SearchFilters,
        categories: set[str] | None,
        policy: FreshnessPolicy,
        now: datetime,
        today: date,
        center: GeoPoint | None = None,
        radius_km: float = 5.0,
        top: int | None = None,
    ) -> tuple[list[IndexHit], int]:
        """The first `top` hits of the ranking (all if None) and the number of hits."""
        if center is not None:
            radius_km = validate_radius(radius_km)
        candidates: set[str] | None = self._text_candidates(terms) if terms else None
        if center is not None and (
            candidates is None
            or self._geo_estimate(center, radius_km) < _GRID_FACTOR * len(candidates)
        ):
            # intersecting with the grid runs in C, so it pays even when the box holds several
            # times more entries than the text matches; else the text candidates are checked
            # against the circle one by one below
            candidates = self._geo_candidates(center, radius_km, candidates)
        ids = self.entries.keys() if candidates is None else candidates
        self._use_policy(policy)
        now_us = _us(now)
        keep = _Filter(filters, categories, today)
        # the checks of `_Filter.cheap`, inlined (see there) and bound to locals
        kind = keep.kind
        age = filters.age
        free_only = filters.free_only
        language = filters.language
        wanted = keep.wanted
        one_wanted = next(iter(wanted)) if len(wanted) == 1 else None
        dear = filters.open_at is not None or filters.weekday is not None
        n_terms = len(terms)
        alternatives = [tuple(t.alternatives.items()) for t in terms]
        text_norm = n_terms * _TITLE_WEIGHT
        half_life = max(radius_km / 3.0, 0.5)
        has_center = center is not None
        min_lat = max_lat = min_lon = max_lon = c_lon = c_phi = c_cos = 0.0
        if center is not None:
            box = bounding_box(center, radius_km)
            min_lat, max_lat, min_lon, max_lon = box.min_lat, box.max_lat, box.min_lon, box.max_lon
            c_lon = center.lon
            c_phi = math.radians(center.lat)
            c_cos = math.cos(c_phi)
        # `_haversine` inlined with the same operations (bit-identical distances)
        radians, sin, asin, sqrt, pow_ = math.radians, math.sin, math.asin, math.sqrt, math.pow
        two_r = 2 * EARTH_RADIUS_KM
        both = n_terms and has_center
        text_share, geo_share = TEXT_SHARE, 1 - TEXT_SHARE
        inf = math.inf
        fresh_state, due_state = FreshnessState.FRESH, FreshnessState.DUE
        stale_state = FreshnessState.STALE
        entries = self.entries
        rows: list[tuple[tuple[float, float, str, str], SearchProjection, float,
                         str | None, FreshnessState]] = []  # fmt: skip
        append = rows.append
        for entry_id in ids:
            p = entries[entry_id]
            if p.hidden or not p.shown or now_us >= p.hidden_us:
                continue
            if kind is not None and p.kind != kind:
                continue
            if free_only and not p.free:
                continue
            if age is not None and not p.min_age <= age <= p.max_age:
                continue
            if categories is not None and categories.isdisjoint(p.categories):
                continue
            if language is not None and language not in p.languages:
                continue
            if wanted:
                if one_wanted is not None:
                    if one_wanted not in p.access_any:
                        continue
                elif not keep.accessible(p):
                    continue
            distance: float | None = None
            location_id: str | None = None
            g_score = 0.0
            if has_center:
                near_id: str | None = None
                near_d = 0.0
                for lid, lat, lon, phi2, cos2 in p.geo:
                    if not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
                        continue  # outside the bounding box, so outside the circle
                    h = (sin((phi2 - c_phi) / 2) ** 2
                         + c_cos * cos2 * sin(radians(lon - c_lon) / 2) ** 2)  # fmt: skip
                    d = two_r * asin(min(1.0, sqrt(h)))
                    if near_id is None or d < near_d or (d == near_d and lid < near_id):
                        near_id, near_d = lid, d
                if near_id is not None and near_d <= radius_km:
                    location_id, distance = near_id, near_d
                    g_score = pow_(0.5, near_d / half_life)
                elif p.online_only:
                    g_score = ONLINE_GEO_SCORE
                else:
                    continue
            t_score = 0.0
            if n_terms:
                weights = p.weights
                total = 0.0
                for alts in alternatives:
                    best = 0.0
                    for token, w in alts:
                        fw = weights.get(token)
                        if fw is not None and fw * w > best:
                            best = fw * w
                    total += best
                t_score = total / text_norm
                if t_score == 0.0:
                    continue
            if dear and not keep.schedules(p):
                continue
            if both:
                score = text_share * t_score + geo_share * g_score
            else:
                score = t_score if n_terms else g_score
            if now_us >= p.stale_us:
                fresh = stale_state
                score *= STALE_FACTOR
            else:
                fresh = due_state if now_us >= p.due_us else fresh_state
            score = round(score, 9)
            key = (-score, inf if distance is None else distance, p.sort_name, entry_id)
            append((key, p, t_score, location_id, fresh))
        ranked = sorted(rows) if top is None else heapq.nsmallest(top, rows)
        hits = [
            IndexHit(p.id, p.version, -key[0], round(t_score, 9),
                     None if key[1] == inf else key[1], location_id, fresh,
                     fresh is stale_state, key)
            for key, p, t_score, location_id, fresh in ranked
        ]  # fmt: skip
        return hits, len(rows)


class _Filter:
    """`filters.build_predicate` over a projection; schedule checks last (they are dearer).

    `SearchIndex.search_page` inlines `cheap` (keep them in step)."""

    __slots__ = ("_codes", "_end", "_f", "_start", "_today", "kind", "wanted")

    def __init__(self, filters: SearchFilters, codes: set[str] | None, today: date) -> None:
        self._f = filters
        self._codes = codes
        self._today = today
        self.wanted = frozenset(filters.accessibility)
        self.kind = filters.kind.value if filters.kind is not None else None
        self._start = filters.time_from or time(0, 0)
        self._end = filters.time_to or time(23, 59, 59)

    def cheap(self, p: SearchProjection) -> bool:
        f = self._f
        if self.kind is not None and p.kind != self.kind:
            return False
        if self._codes is not None and self._codes.isdisjoint(p.categories):
            return False
        if f.age is not None and not p.min_age <= f.age <= p.max_age:
            return False
        if f.free_only and not p.free:
            return False
        if f.language is not None and f.language not in p.languages:
            return False
        return self.accessible(p)

    def accessible(self, p: SearchProjection) -> bool:
        """One location offers all wanted accessibility features."""
        wanted = self.wanted
        if not wanted:
            return True
        return wanted <= p.access_any and any(wanted <= codes for codes in p.access)

    def schedules(self, p: SearchProjection) -> bool:
        f = self._f
        if f.open_at is None and f.weekday is None:
            return True
        schedules = p.schedules
        if f.open_at is not None and not any(schedule_open_at(s, f.open_at) for s in schedules):
            return False
        if f.weekday is not None:
            weekday = f.weekday
            return any(
                schedule_on_weekday_between(s, weekday, self._start, self._end, self._today)
                for s in schedules
            )
        return True
