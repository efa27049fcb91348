"""Offers that fit a questionnaire result ("from the spider web to local offers").

Pick the 1–2 lowest dimensions scoring below the threshold (ties broken by the fixed
dimension order), map them to categories through the taxonomy, and rank candidates with the
platform's one ranking (`wijkkracht_common.ranking`, shared with the marketplace): fit to
the lowest dimension the entry serves (most when it is the entry's main one; blended with
the resident's own words, "wandelen", through the same text analysis as search, when
given), distance from the resident's neighbourhood centroid, the resident's age band and
freshness. Inactive, stale and hidden entries and entries whose age band excludes the
resident are left out; one entry per service name, so the list does not repeat the same
offer at other places (the others only fill a list that would otherwise be short).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from wijkkracht_common.ranking import Signals, audience_fit, dimension_fit, map_freshness, rank

from social_map.domain.errors import DomainValidationError, FieldError
from social_map.domain.freshness import FreshnessPolicy, state
from social_map.domain.geo import GeoPoint, validate_radius
from social_map.domain.model import Entry, ServiceStatus
from social_map.domain.ranking import entry_field_tokens, nearest_location, text_score
from social_map.domain.taxonomy import Dimension, Taxonomy
from social_map.domain.text_analysis import Analyzer, QueryTerm

DEFAULT_THRESHOLD = 6.0
#: With the resident's own words, their match is this share of the fit (the rest: the
#: lowest dimension served), so words refine the list but never replace the dimensions.
INTEREST_SHARE = 0.3

DIMENSION_LABELS: dict[Dimension, tuple[str, str]] = {
    Dimension.BODILY_FUNCTIONS: ("Lichaamsfuncties", "Bodily functions"),
    Dimension.MENTAL_WELLBEING: ("Mentaal welbevinden", "Mental wellbeing"),
    Dimension.MEANINGFULNESS: ("Zingeving", "Meaningfulness"),
    Dimension.QUALITY_OF_LIFE: ("Kwaliteit van leven", "Quality of life"),
    Dimension.PARTICIPATION: ("Meedoen", "Participation"),
    Dimension.DAILY_FUNCTIONING: ("Dagelijks functioneren", "Daily functioning"),
}
_DIM_ORDER = list(Dimension)


@dataclass(frozen=True, slots=True)
class Recommendation:
    entry: Entry
    score: float
    dimensions: list[Dimension]  # focus dimensions this entry serves
    distance_km: float | None
    stale_warning: bool  # always False: stale entries are not recommended (kept in the view)
    reason_nl: str
    reason_en: str


def focus_dimensions(
    scores: Mapping[str, float], threshold: float = DEFAULT_THRESHOLD, max_dimensions: int = 2
) -> list[Dimension]:
    errors: list[FieldError] = []
    parsed: dict[Dimension, float] = {}
    for key, value in scores.items():
        if key not in Dimension.__members__.values():
            errors.append(FieldError(f"scores.{key}", "unknown dimension"))
        elif not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 10):
            errors.append(FieldError(f"scores.{key}", "score must be between 0 and 10"))
        else:
            parsed[Dimension(key)] = float(value)
    if errors:
        raise DomainValidationError(errors)
    low = sorted(
        (d for d, v in parsed.items() if v < threshold),
        key=lambda d: (parsed[d], _DIM_ORDER.index(d)),
    )
    return low[:max_dimensions]


def _reason(dims: list[Dimension]) -> tuple[str, str]:
    nl = " en ".join(DIMENSION_LABELS[d][0] for d in dims)
    en = " and ".join(DIMENSION_LABELS[d][1].lower() for d in dims)
    return f"Past bij wat u aangaf over: {nl}", f"Fits what you told us about: {en}"


def service_key(entry: Entry) -> str:
    """No repeats: one entry per service name as the resident reads it ("Maatjesproject"
    at three places, or by two organisations, is one suggestion, the best placed); the
    others only follow when fewer than `limit` different services are in reach."""
    return " ".join(entry.name.casefold().split())


def recommend(
    scores: Mapping[str, float],
    *,
    home: GeoPoint,
    candidates: Iterable[Entry],
    taxonomy: Taxonomy,
    policy: FreshnessPolicy,
    now: datetime,
    age: int | None = None,
    interests: str = "",
    analyzer: Analyzer | None = None,
    radius_km: float = 5.0,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 10,
) -> list[Recommendation]:
    radius_km = validate_radius(radius_km)
    focus = focus_dimensions(scores, threshold)
    if not focus:
        return []
    terms = analyzer.query_terms(interests) if analyzer is not None and interests else []
    served_of: dict[str, list[Dimension]] = {}

    def signals(entry: Entry) -> Signals | None:
        if entry.status is not ServiceStatus.ACTIVE:
            return None
        freshness = map_freshness(state(entry, policy, now).value)
        band = entry.eligibility
        audience = audience_fit(age, band.minimum_age, band.maximum_age)
        if freshness is None or audience is None:
            return None
        offered = [taxonomy.dimensions_for(c) for c in entry.category_codes if c in taxonomy]
        served = [d for d in focus if any(d in dims for dims in offered)]
        fit = max((dimension_fit(focus, dims) for dims in offered), default=0.0)
        if fit <= 0.0:
            return None
        if terms and analyzer is not None:
            fit = (1 - INTEREST_SHARE) * fit + INTEREST_SHARE * _interest(
                terms, entry, analyzer, taxonomy
            )
        near = nearest_location(entry, home)
        if near is not None and near[1] <= radius_km:
            distance: float | None = near[1]
        elif near is None and entry.locations:
            distance = None  # online only
        else:
            return None
        served_of[entry.id] = served
        return Signals(fit, distance, radius_km, audience=audience, freshness=freshness)

    ranked = rank(
        candidates,
        signals=signals,
        key=service_key,
        tie=lambda e: f"{e.name.casefold()}|{e.id}",
        limit=limit,
        fill_with_repeats=True,
    )
    out: list[Recommendation] = []
    for r in ranked:
        served = served_of[r.item.id]
        nl, en = _reason(served)
        out.append(Recommendation(r.item, r.score, served, r.signals.distance_km, False, nl, en))
    return out


def _interest(terms: list[QueryTerm], entry: Entry, analyzer: Analyzer, tax: Taxonomy) -> float:
    return text_score(terms, entry_field_tokens(entry, analyzer, tax))
