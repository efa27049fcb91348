"""Ranking of candidate entries: text relevance + distance decay, deterministic.

Text relevance is a weighted token match (no corpus statistics needed, so scores do not
depend on what else the pre-filter returned): for each query term the best field counts,
title 3 > category 2 > description 1, synonym matches at SYNONYM_WEIGHT; normalised to 0..1.
Distance decays by half every `radius_km / 3` (at least 0.5 km). With both text and a centre
the score is 0.65·text + 0.35·distance. Stale entries stay in the list with a warning flag
and a 0.85 factor; hidden, inactive and defunct entries are never returned.
Ties: higher score, then nearer, then name (case-insensitive), then id.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from social_map.domain.freshness import FreshnessPolicy, FreshnessState, state
from social_map.domain.geo import GeoPoint, haversine_km, validate_radius
from social_map.domain.model import Entry, LocationType, ServiceStatus
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer, QueryTerm, TextField

FIELD_WEIGHTS = {TextField.TITLE: 3.0, TextField.CATEGORY: 2.0, TextField.DESCRIPTION: 1.0}
TEXT_SHARE = 0.65
STALE_FACTOR = 0.85
ONLINE_GEO_SCORE = 0.5  # online-only offers: reachable from anywhere, but not "nearby"
_SHOWN_STATUSES = {ServiceStatus.ACTIVE, ServiceStatus.TEMPORARILY_CLOSED}


@dataclass(frozen=True, slots=True)
class SearchHit:
    entry: Entry
    score: float
    text_score: float
    distance_km: float | None
    location_id: str | None  # nearest location
    freshness: FreshnessState
    stale_warning: bool


def entry_field_tokens(
    entry: Entry, analyzer: Analyzer, taxonomy: Taxonomy
) -> dict[TextField, set[str]]:
    cat_words = [w for c in entry.category_codes if c in taxonomy for w in taxonomy.search_words(c)]
    return {
        TextField.TITLE: analyzer.text_tokens(f"{entry.name} {entry.alternate_name}"),
        TextField.CATEGORY: analyzer.text_tokens(" ".join(cat_words)),
        TextField.DESCRIPTION: analyzer.text_tokens(entry.description),
    }


def index_tokens(entry: Entry, analyzer: Analyzer, taxonomy: Taxonomy) -> list[str]:
    """Tokens stored on the entry's document (sorted, unique). Query them with `$in`."""
    return sorted(set().union(*entry_field_tokens(entry, analyzer, taxonomy).values()))


def text_score(terms: list[QueryTerm], fields: dict[TextField, set[str]]) -> float:
    if not terms:
        return 0.0
    total = 0.0
    for term in terms:
        best = 0.0
        for field, tokens in fields.items():
            for token, weight in term.alternatives.items():
                if token in tokens:
                    best = max(best, FIELD_WEIGHTS[field] * weight)
        total += best
    return total / (len(terms) * FIELD_WEIGHTS[TextField.TITLE])


def distance_score(distance_km: float, radius_km: float) -> float:
    return math.pow(0.5, distance_km / max(radius_km / 3.0, 0.5))


def nearest_location(entry: Entry, center: GeoPoint) -> tuple[str, float] | None:
    best: tuple[str, float] | None = None
    for loc in entry.locations:
        if loc.latitude is None or loc.longitude is None:
            continue
        d = haversine_km(center, GeoPoint(loc.latitude, loc.longitude))
        if best is None or d < best[1] or (d == best[1] and loc.id < best[0]):
            best = (loc.id, d)
    return best


def _online_only(entry: Entry) -> bool:
    return bool(entry.locations) and all(
        loc.location_type is LocationType.VIRTUAL for loc in entry.locations
    )


def rank(
    entries: Iterable[Entry],
    *,
    analyzer: Analyzer,
    taxonomy: Taxonomy,
    policy: FreshnessPolicy,
    now: datetime,
    text: str = "",
    center: GeoPoint | None = None,
    radius_km: float = 5.0,
    keep: Callable[[Entry], bool] | None = None,
) -> list[SearchHit]:
    """Score and order candidates (typically the bounding-box ∩ `$in` result)."""
    if center is not None:
        radius_km = validate_radius(radius_km)
    terms = analyzer.query_terms(text)
    hits: list[SearchHit] = []
    for entry in entries:
        if entry.status not in _SHOWN_STATUSES:
            continue
        fresh = state(entry, policy, now)
        if fresh is FreshnessState.HIDDEN or (keep is not None and not keep(entry)):
            continue
        t_score = text_score(terms, entry_field_tokens(entry, analyzer, taxonomy)) if terms else 0.0
        if terms and t_score == 0.0:
            continue
        distance: float | None = None
        location_id: str | None = None
        g_score = 0.0
        if center is not None:
            near = nearest_location(entry, center)
            if near is not None and near[1] <= radius_km:
                location_id, distance = near
                g_score = distance_score(distance, radius_km)
            elif _online_only(entry):
                g_score = ONLINE_GEO_SCORE
            else:
                continue
        if terms and center is not None:
            score = TEXT_SHARE * t_score + (1 - TEXT_SHARE) * g_score
        else:
            score = t_score if terms else g_score
        stale = fresh is FreshnessState.STALE
        if stale:
            score *= STALE_FACTOR
        hits.append(
            SearchHit(
                entry, round(score, 9), round(t_score, 9), distance, location_id, fresh, stale
            )
        )
    hits.sort(key=_order)
    return hits


def _order(hit: SearchHit) -> tuple[float, float, str, str]:
    d = hit.distance_km if hit.distance_km is not None else math.inf
    return (-hit.score, d, hit.entry.name.casefold(), hit.entry.id)
