"""Offers that fit a questionnaire result ("from the spider web to local offers").

Pick the 1–2 lowest dimensions scoring below the threshold (ties broken by the fixed
dimension order), map them to categories through the taxonomy, and rank candidates by
dimension match (lowest dimension weighs 1.0, the second 0.6), distance from the resident's
neighbourhood centroid and, if given, the resident's own words ("wandelen") through the
same text analysis as search. Hidden/inactive entries and entries whose age band excludes
the resident are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from social_map.domain.errors import DomainValidationError, FieldError
from social_map.domain.freshness import FreshnessPolicy, FreshnessState, state
from social_map.domain.geo import GeoPoint, validate_radius
from social_map.domain.model import Entry, ServiceStatus
from social_map.domain.ranking import (
    ONLINE_GEO_SCORE,
    STALE_FACTOR,
    distance_score,
    entry_field_tokens,
    nearest_location,
    text_score,
)
from social_map.domain.taxonomy import Dimension, Taxonomy
from social_map.domain.text_analysis import Analyzer

DEFAULT_THRESHOLD = 6.0
FOCUS_WEIGHTS = (1.0, 0.6)
TARGETED_AUDIENCE_BONUS = 0.05

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
    stale_warning: bool
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
    weights = dict(zip(focus, FOCUS_WEIGHTS, strict=False))
    total_weight = sum(weights.values())
    terms = analyzer.query_terms(interests) if analyzer is not None and interests else []
    out: list[Recommendation] = []
    for entry in candidates:
        if entry.status is not ServiceStatus.ACTIVE:
            continue
        fresh = state(entry, policy, now)
        if fresh is FreshnessState.HIDDEN:
            continue
        if age is not None and not entry.eligibility.admits(age):
            continue
        entry_dims = {
            d for c in entry.category_codes if c in taxonomy for d in taxonomy.dimensions_for(c)
        }
        served = [d for d in focus if d in entry_dims]
        if not served:
            continue
        match = sum(weights[d] for d in served) / total_weight
        near = nearest_location(entry, home)
        if near is not None and near[1] <= radius_km:
            distance: float | None = near[1]
            geo = distance_score(near[1], radius_km)
        elif near is None and entry.locations:
            distance, geo = None, ONLINE_GEO_SCORE
        else:
            continue
        if terms and analyzer is not None:
            interest = text_score(terms, entry_field_tokens(entry, analyzer, taxonomy))
            score = 0.5 * match + 0.3 * geo + 0.2 * interest
        else:
            score = 0.6 * match + 0.4 * geo
        band = entry.eligibility
        if age is not None and (band.minimum_age is not None or band.maximum_age is not None):
            score += TARGETED_AUDIENCE_BONUS
        stale = fresh is FreshnessState.STALE
        if stale:
            score *= STALE_FACTOR
        nl, en = _reason(served)
        out.append(Recommendation(entry, round(score, 9), served, distance, stale, nl, en))
    out.sort(
        key=lambda r: (
            -r.score,
            r.distance_km if r.distance_km is not None else math.inf,
            r.entry.name.casefold(),
            r.entry.id,
        )
    )
    return out[:limit]
