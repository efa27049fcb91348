"""In-memory search index of one tenant: projections, postings, a grid and filter facets.

Pure (no I/O, no clock): the service builds it from the database and keeps it current.
What it keeps per entry is a `search_projection.SearchProjection`. A query (`search_page`):

1. Candidates by set operations (they run in C): the postings of the query's tokens, split
   over the grid cells of the circle's bounding box into cells wholly inside the circle
   (within the radius without computing a distance) and the other cells (+ online offers),
   narrowed by the filters' facets and the entries not shown (`search_prefilter`).
2. Hits: candidates of the other cells get their distance one by one; schedules and
   "all features at one location" are checked per entry. The hit count is exact.
3. Only hits that can still make the requested page are scored: hits are grouped by text
   score (`search_text.text_classes`) × grid cell, each group's scores are bounded by its
   text score and the cell's least distance, and groups are scored from the highest bound
   down until the page's last hit beats the next group's bound.

Scores and order are exactly `domain.ranking.rank` (same formulas, same rounding, same tie
break), so the index and `rank` agree hit for hit (unit tests compare them).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

from social_map.domain.filters import SearchFilters
from social_map.domain.freshness import FreshnessPolicy, FreshnessState
from social_map.domain.geo import (
    EARTH_RADIUS_KM,
    BoundingBox,
    GeoPoint,
    bounding_box,
    validate_radius,
)
from social_map.domain.occurrences import schedule_on_weekday_between, schedule_open_at
from social_map.domain.ranking import FIELD_WEIGHTS, ONLINE_GEO_SCORE, STALE_FACTOR, TEXT_SHARE
from social_map.domain.search_geo import CELL_LAT, CELL_LON, Cell, CellShape, cell_of
from social_map.domain.search_prefilter import Facets, Visibility, discard_member
from social_map.domain.search_projection import (
    PROJECTION_VERSION,
    SearchProjection,
    epoch_us,
    project,
    thresholds,
)
from social_map.domain.search_text import Postings, text_classes
from social_map.domain.text_analysis import QueryTerm, TextField

__all__ = [
    "CELL_LAT",
    "CELL_LON",
    "PROJECTION_VERSION",
    "IndexHit",
    "SearchIndex",
    "SearchProjection",
    "project",
]

_TITLE_WEIGHT = FIELD_WEIGHTS[TextField.TITLE]
#: A candidate checked in the Python loop costs about as much as intersecting this many
#: entries of grid cells with the text candidates (set operations in C); measured, rounded down.
_GRID_FACTOR = 16
#: Above this many cells in the box, hits are grouped by text score only (bounding the
#: distance score by 1): fewer groups to sort than entries they would save scoring.
_MAX_GROUP_CELLS = 256
#: Scores are rounded to 9 decimals; a bound this much above the unrounded best is safe.
_SLACK = 1e-9

_Near = tuple[str, float]  # (location id, km) of the nearest location within the radius
_Row = tuple[tuple[float, float, str, str], SearchProjection, float, str | None, FreshnessState]


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


class SearchIndex:
    """Projections of one tenant with their postings, geo grid and filter facets."""

    def __init__(self) -> None:
        self.entries: dict[str, SearchProjection] = {}
        self._postings = Postings()
        self._cells: dict[Cell, set[str]] = {}
        self._shapes: dict[Cell, CellShape] = {}
        self._online: set[str] = set()
        self._facets = Facets()
        self._visibility: Visibility | None = None  # built by the first query after a policy
        self._policy: FreshnessPolicy | None = None  # the thresholds of the entries follow it

    def __len__(self) -> int:
        return len(self.entries)

    def version_of(self, entry_id: str) -> int | None:
        p = self.entries.get(entry_id)
        return None if p is None else p.version

    def upsert(self, p: SearchProjection) -> None:
        self.remove(p.id)
        if self._policy is not None:
            p.due_us, p.stale_us, p.hidden_us = thresholds(p, self._policy)
        self.entries[p.id] = p
        self._postings.add(p.id, p.weights)
        for _, lat, lon in p.points:
            cell = cell_of(lat, lon)
            ids = self._cells.get(cell)
            if ids is None:
                ids = self._cells[cell] = set()
                self._shapes[cell] = CellShape.of(cell)
            ids.add(p.id)
        if p.online_only:
            self._online.add(p.id)
        self._facets.add(p)
        if self._visibility is not None:
            self._visibility.update(p)

    def remove(self, entry_id: str) -> None:
        old = self.entries.pop(entry_id, None)
        if old is None:
            return
        self._postings.discard(entry_id, old.weights)
        for _, lat, lon in old.points:
            cell = cell_of(lat, lon)
            discard_member(self._cells, cell, entry_id)
            if cell not in self._cells:
                self._shapes.pop(cell, None)
        self._online.discard(entry_id)
        self._facets.discard(old)
        if self._visibility is not None:
            self._visibility.hidden.discard(entry_id)

    def _use_policy(self, policy: FreshnessPolicy) -> None:
        """Recompute the freshness thresholds of all entries when the policy changed."""
        if policy is self._policy:
            return
        if policy == self._policy:
            self._policy = policy  # an equal copy (e.g. re-read from the database)
            return
        for p in self.entries.values():
            p.due_us, p.stale_us, p.hidden_us = thresholds(p, policy)
        self._policy = policy
        self._visibility = None

    def _hidden_at(self, now_us: int) -> set[str]:
        v = self._visibility
        if v is None or not v.valid_at(now_us):
            v = self._visibility = Visibility(self.entries.values(), now_us)
        return v.hidden

    # -- candidates ------------------------------------------------------------------------

    def _box_cells(self, box: BoundingBox) -> list[tuple[Cell, set[str]]]:
        lo_lat, lo_lon = cell_of(box.min_lat, box.min_lon)
        hi_lat, hi_lon = cell_of(box.max_lat, box.max_lon)
        cells = self._cells
        if (hi_lat - lo_lat + 1) * (hi_lon - lo_lon + 1) > len(cells):
            return [
                (c, ids)
                for c, ids in cells.items()
                if lo_lat <= c[0] <= hi_lat and lo_lon <= c[1] <= hi_lon
            ]
        out: list[tuple[Cell, set[str]]] = []
        for ca in range(lo_lat, hi_lat + 1):
            for co in range(lo_lon, hi_lon + 1):
                ids = cells.get((ca, co))
                if ids:
                    out.append(((ca, co), ids))
        return out

    def _split(
        self,
        center: GeoPoint,
        radius_km: float,
        box: BoundingBox,
        cells: list[tuple[Cell, set[str]]],
        within: set[str] | None,
    ) -> tuple[set[str], set[str]]:
        """(in cells wholly inside the circle, in cells crossing its edge or online) of the
        entries in `within` (all if None); intersected cell by cell, no set of the whole box.
        Cells wholly outside the circle are skipped."""
        inner: set[str] = set()
        edge: set[str] = set()
        lat, lon = center.lat, center.lon
        for cell, ids in cells:
            shape = self._shapes[cell]
            if shape.lower_bound(lat, lon) > radius_km:
                continue  # a corner of the box: wholly outside the circle
            part = ids if within is None else ids & within
            if part:
                if shape.inside(lat, lon, radius_km, box):
                    inner |= part
                else:
                    edge |= part
        edge |= self._online if within is None else self._online & within
        edge -= inner  # several locations: one inside is enough
        return inner, edge

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
        return self.search_page(
            terms=terms,
            filters=filters,
            categories=categories,
            policy=policy,
            now=now,
            today=today,
            center=center,
            radius_km=radius_km,
        )[0]

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
        self._use_policy(policy)
        now_us = epoch_us(now)
        text_ids = self._postings.union(terms) if terms else None
        box: BoundingBox | None = None
        cells: list[tuple[Cell, set[str]]] = []
        if center is None:
            inner, edge = set(self.entries) if text_ids is None else text_ids, set[str]()
        else:
            radius_km = validate_radius(radius_km)
            box = bounding_box(center, radius_km)
            cells = self._box_cells(box)
            in_box = len(self._online) + sum(len(ids) for _, ids in cells)
            if text_ids is not None and in_box >= _GRID_FACTOR * len(text_ids):
                # few text matches in a crowded box: check them one by one
                inner, edge = set(), text_ids
            else:
                inner, edge = self._split(center, radius_km, box, cells, text_ids)
        hidden = self._hidden_at(now_us)
        inner = self._facets.narrow(inner, filters, categories) - hidden
        edge = self._facets.narrow(edge, filters, categories) - hidden

        entries = self.entries
        near_of: dict[str, _Near | None] = {}  # edge hits; None: an online offer farther away
        nearest: Callable[[SearchProjection], _Near | None] | None = None
        if center is not None and box is not None:
            nearest = _nearest(center, radius_km, box)
            for entry_id in edge:
                p = entries[entry_id]
                near = nearest(p)
                if near is not None or p.online_only:
                    near_of[entry_id] = near
            hits = inner.union(near_of)
        else:
            hits = inner | edge
        keep = _Filter(filters, today)
        if len(keep.wanted) > 1:
            hits = {i for i in hits if keep.accessible(entries[i])}
        if keep.dear:
            hits = {i for i in hits if keep.schedules(entries[i])}
        if terms:
            classes = text_classes(hits, terms, self._postings)
        else:
            classes = [(0.0, hits)] if hits else []
        total = sum(len(ids) for _, ids in classes)

        score = _Scorer(terms, center, radius_km, now_us, nearest, near_of)
        ranked = self._best(classes, score, center, cells, top)
        inf = math.inf
        hits_out = [
            IndexHit(
                p.id,
                p.version,
                -key[0],
                round(t_score, 9),
                None if key[1] == inf else key[1],
                location_id,
                fresh,
                fresh is FreshnessState.STALE,
                key,
            )
            for key, p, t_score, location_id, fresh in ranked
        ]
        return hits_out, total

    def _best(
        self,
        classes: list[tuple[float, set[str]]],
        score: _Scorer,
        center: GeoPoint | None,
        cells: list[tuple[Cell, set[str]]],
        top: int | None,
    ) -> list[_Row]:
        """The first `top` rows of the ranking (all if None), scoring groups of hits (text
        class × cell) from the highest score bound down while they can still reach the page."""
        # (bound, text class total, class ids, cell ids or None for the whole class)
        groups: list[tuple[float, float, set[str], set[str] | None]] = []
        if top is not None and center is not None and len(cells) <= _MAX_GROUP_CELLS:
            caps = [(score.geo_cap(self._shapes[cell], center), ids) for cell, ids in cells]
            caps.append((ONLINE_GEO_SCORE, self._online))  # online offers farther away
            for t_total, ids in classes:
                groups.extend(
                    (score.bound(t_total, cap), t_total, ids, cell_ids) for cap, cell_ids in caps
                )
        else:
            groups = [(score.bound(t_total, 1.0), t_total, ids, None) for t_total, ids in classes]
        groups.sort(key=lambda g: -g[0])
        entries = self.entries
        rows: list[_Row] = []
        seen: set[str] = set()  # an entry with locations in several cells is scored once
        for bound, t_total, ids, cell_ids in groups:
            if top is not None and len(rows) >= top > 0:
                rows = heapq.nsmallest(top, rows)
                if -rows[-1][0][0] > bound + _SLACK:
                    break  # no hit of this or any later group can reach the page
            for entry_id in ids if cell_ids is None else ids & cell_ids:
                if entry_id not in seen:
                    seen.add(entry_id)
                    rows.append(score.row(entries[entry_id], t_total))
        return sorted(rows) if top is None else heapq.nsmallest(top, rows)


def _nearest(
    center: GeoPoint, radius_km: float, box: BoundingBox
) -> Callable[[SearchProjection], _Near | None]:
    """The entry's nearest location if within the radius (ties: lowest location id)."""
    min_lat, max_lat, min_lon, max_lon = box.min_lat, box.max_lat, box.min_lon, box.max_lon
    c_lon = center.lon
    c_phi = math.radians(center.lat)
    c_cos = math.cos(c_phi)
    radians, sin, asin, sqrt = math.radians, math.sin, math.asin, math.sqrt
    two_r = 2 * EARTH_RADIUS_KM

    def nearest(p: SearchProjection) -> _Near | None:
        near_id: str | None = None
        near_d = 0.0
        for lid, lat, lon, phi2, cos2 in p.geo:
            if not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
                continue  # outside the bounding box, so outside the circle
            # `geo.haversine_km` with the same operations (bit-identical distances)
            h = sin((phi2 - c_phi) / 2) ** 2 + c_cos * cos2 * sin(radians(lon - c_lon) / 2) ** 2
            d = two_r * asin(min(1.0, sqrt(h)))
            if near_id is None or d < near_d or (d == near_d and lid < near_id):
                near_id, near_d = lid, d
        if near_id is not None and near_d <= radius_km:
            return near_id, near_d
        return None

    return nearest


class _Scorer:
    """`ranking.rank`'s score of one hit, and upper bounds of it for groups of hits."""

    __slots__ = ("_center", "_half_life", "_n_terms", "_near_of", "_nearest", "_norm", "_now_us")

    def __init__(
        self,
        terms: list[QueryTerm],
        center: GeoPoint | None,
        radius_km: float,
        now_us: int,
        nearest: Callable[[SearchProjection], _Near | None] | None,
        near_of: dict[str, _Near | None],
    ) -> None:
        self._n_terms = len(terms)
        self._norm = len(terms) * _TITLE_WEIGHT
        self._center = center
        self._half_life = max(radius_km / 3.0, 0.5)
        self._now_us = now_us
        self._nearest = nearest
        self._near_of = near_of

    def _combine(self, t_score: float, g_score: float) -> float:
        if self._n_terms and self._center is not None:
            return TEXT_SHARE * t_score + (1 - TEXT_SHARE) * g_score
        return t_score if self._n_terms else g_score

    def geo_cap(self, shape: CellShape, center: GeoPoint) -> float:
        """No location in the cell has a higher distance score."""
        return math.pow(0.5, shape.lower_bound(center.lat, center.lon) / self._half_life)

    def bound(self, t_total: float, geo_cap: float) -> float:
        """No hit of the text class with a distance score <= geo_cap scores higher (stale
        entries score lower still)."""
        t_score = t_total / self._norm if self._n_terms else 0.0
        return self._combine(t_score, geo_cap if self._center is not None else 0.0)

    def row(self, p: SearchProjection, t_total: float) -> _Row:
        t_score = t_total / self._norm if self._n_terms else 0.0
        distance: float | None = None
        location_id: str | None = None
        g_score = 0.0
        if self._center is not None and self._nearest is not None:
            near_of = self._near_of
            near = near_of[p.id] if p.id in near_of else self._nearest(p)
            if near is not None:
                location_id, distance = near
                g_score = math.pow(0.5, distance / self._half_life)
            else:
                g_score = ONLINE_GEO_SCORE
        score = self._combine(t_score, g_score)
        now_us = self._now_us
        if now_us >= p.stale_us:
            fresh = FreshnessState.STALE
            score *= STALE_FACTOR
        elif now_us >= p.due_us:
            fresh = FreshnessState.DUE
        else:
            fresh = FreshnessState.FRESH
        score = round(score, 9)
        key = (-score, math.inf if distance is None else distance, p.sort_name, p.id)
        return key, p, t_score, location_id, fresh


class _Filter:
    """The checks of `filters.build_predicate` that `Facets.narrow` leaves to each entry."""

    __slots__ = ("_end", "_f", "_start", "_today", "dear", "wanted")

    def __init__(self, filters: SearchFilters, today: date) -> None:
        self._f = filters
        self._today = today
        self.wanted = frozenset(filters.accessibility)
        self.dear = filters.open_at is not None or filters.weekday is not None
        self._start = filters.time_from or time(0, 0)
        self._end = filters.time_to or time(23, 59, 59)

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
