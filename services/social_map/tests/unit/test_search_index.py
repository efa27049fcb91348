"""The in-memory search index ranks exactly like `ranking.rank` + `build_predicate`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.domain.filters import SearchFilters, build_predicate
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.geo import GeoPoint
from social_map.domain.model import EntryKind, SocialMapData
from social_map.domain.occurrences import TZ
from social_map.domain.ranking import rank
from social_map.domain.search_index import SearchIndex, SearchProjection, project
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer

CASES: list[tuple[str, SearchFilters, GeoPoint | None, float]] = [
    ("wandelen", SearchFilters(free_only=True, age=66), DEMO_NEIGHBOURHOODS[0].centroid, 2.0),
    ("lopen", SearchFilters(), DEMO_NEIGHBOURHOODS[0].centroid, 3.0),
    ("koffie", SearchFilters(), DEMO_NEIGHBOURHOODS[1].centroid, 5.0),
    ("schulden hulp", SearchFilters(language="nl"), None, 3.0),
    (
        "",
        SearchFilters(category="bewegen", kind=EntryKind.ACTIVITY, accessibility=["wheelchair"]),
        DEMO_NEIGHBOURHOODS[2].centroid,
        5.0,
    ),
    ("", SearchFilters(weekday=1), DEMO_NEIGHBOURHOODS[3].centroid, 1.0),
    ("taalcafé digitaal", SearchFilters(age=30), DEMO_NEIGHBOURHOODS[4].centroid, 50.0),
    ("", SearchFilters(), None, 3.0),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_index_ranks_like_rank(
    case: int,
    demo: SocialMapData,
    analyzer: Analyzer,
    taxonomy: Taxonomy,
    policy: FreshnessPolicy,
) -> None:
    text, filters, center, radius = CASES[case]
    now = datetime(2025, 3, 4, 10, 30, tzinfo=TZ)
    if case == 1:
        filters = SearchFilters(open_at=now)
    index = SearchIndex()
    for i, entry in enumerate(demo.entries):
        data = json.loads(json.dumps(project(entry, analyzer, taxonomy)))  # as stored
        index.upsert(SearchProjection.from_json(entry.id, i, False, data))
    expected = rank(
        demo.entries,
        analyzer=analyzer,
        taxonomy=taxonomy,
        policy=policy,
        now=now,
        text=text,
        center=center,
        radius_km=radius,
        keep=build_predicate(filters, taxonomy, now.date()),
    )
    got = index.search(
        terms=analyzer.query_terms(text),
        filters=filters,
        categories=filters.category_codes(taxonomy),
        policy=policy,
        now=now,
        today=now.date(),
        center=center,
        radius_km=radius,
    )
    assert [
        (
            h.entry.id,
            h.score,
            h.text_score,
            h.distance_km,
            h.location_id,
            h.freshness,
            h.stale_warning,
        )
        for h in expected
    ] == [
        (
            h.entry_id,
            h.score,
            h.text_score,
            h.distance_km,
            h.location_id,
            h.freshness,
            h.stale_warning,
        )
        for h in got
    ]
    assert expected or case == 5


def test_upsert_and_remove_keep_postings_and_cells(
    demo: SocialMapData, analyzer: Analyzer, taxonomy: Taxonomy, policy: FreshnessPolicy
) -> None:
    index = SearchIndex()
    now = datetime(2025, 3, 4, 10, 30, tzinfo=TZ)
    walk = next(e for e in demo.entries if e.name == "Wandelgroep De Stappers")
    index.upsert(SearchProjection.from_json(walk.id, 1, False, project(walk, analyzer, taxonomy)))

    def ids() -> list[str]:
        hits = index.search(
            terms=analyzer.query_terms("wandelen"),
            filters=SearchFilters(),
            categories=None,
            policy=policy,
            now=now,
            today=now.date(),
            center=DEMO_NEIGHBOURHOODS[0].centroid,
            radius_km=3,
        )
        return [h.entry_id for h in hits]

    assert ids() == [walk.id]
    renamed = walk.model_copy(
        update={"name": "Schaakclub", "description": "Schaken", "category_codes": []}
    )
    index.upsert(
        SearchProjection.from_json(walk.id, 2, False, project(renamed, analyzer, taxonomy))
    )
    assert ids() == []
    index.upsert(SearchProjection.from_json(walk.id, 3, True, project(walk, analyzer, taxonomy)))
    assert ids() == []  # announced hidden
    index.upsert(SearchProjection.from_json(walk.id, 4, False, project(walk, analyzer, taxonomy)))
    assert ids() == [walk.id]
    index.remove(walk.id)
    assert ids() == [] and len(index) == 0
    old = walk.model_copy(update={"assured_at": now - timedelta(days=400)})
    index.upsert(SearchProjection.from_json(walk.id, 5, False, project(old, analyzer, taxonomy)))
    assert ids() == []  # hidden by time, without any write
