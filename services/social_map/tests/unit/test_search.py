from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS, PIET_PC4
from social_map.domain.errors import DomainValidationError
from social_map.domain.filters import SearchFilters, build_predicate
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.geo import GeoPoint, bounding_box, centroid_for_pc4
from social_map.domain.model import (
    Accessibility,
    Cost,
    Eligibility,
    Entry,
    EntryKind,
    Language,
    Location,
    ServiceAtLocation,
    SocialMapData,
)
from social_map.domain.ranking import SearchHit, index_tokens, rank
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer
from social_map_testkit import AMS, NOW, make_entry

HOME = GeoPoint(52.47, 4.855)


def test_category_filter_includes_descendants(taxonomy: Taxonomy) -> None:
    walk, debt = make_entry("w", categories=["wandelen"]), make_entry("d", categories=["schulden"])
    keep = build_predicate(SearchFilters(category="bewegen"), taxonomy, date(2025, 3, 3))
    assert keep(walk) and not keep(debt)
    assert SearchFilters(category="geldzaken").category_codes(taxonomy) == {
        "geldzaken",
        "schulden",
        "administratie",
    }
    with pytest.raises(DomainValidationError) as exc:
        build_predicate(SearchFilters(category="paardrijden"), taxonomy, date(2025, 3, 3))
    assert exc.value.fields == ["category"]


def test_age_free_language_accessibility_kind(taxonomy: Taxonomy) -> None:
    e = make_entry(
        eligibility=Eligibility(minimum_age=55),
        cost=Cost(free=False, amount=Decimal(2)),
        languages=[Language(code="nl"), Language(code="tr")],
    )
    d = date(2025, 3, 3)
    assert build_predicate(SearchFilters(age=66), taxonomy, d)(e)
    assert not build_predicate(SearchFilters(age=30), taxonomy, d)(e)
    assert not build_predicate(SearchFilters(free_only=True), taxonomy, d)(e)
    assert build_predicate(SearchFilters(language="tr"), taxonomy, d)(e)
    assert not build_predicate(SearchFilters(language="ar"), taxonomy, d)(e)
    assert not build_predicate(SearchFilters(kind=EntryKind.SERVICE), taxonomy, d)(e)
    loc = e.locations[0].model_copy(update={"accessibility": [Accessibility(code="wheelchair")]})
    acc = e.model_copy(update={"service_at_locations": [ServiceAtLocation(id="s", location=loc)]})
    assert build_predicate(SearchFilters(accessibility=["wheelchair"]), taxonomy, d)(acc)
    assert not build_predicate(
        SearchFilters(accessibility=["wheelchair", "hearing_loop"]), taxonomy, d
    )(acc)


def test_open_now_and_day_time(taxonomy: Taxonomy) -> None:
    e = make_entry()  # Tuesdays 10:00-11:30
    d = date(2025, 3, 3)
    assert build_predicate(
        SearchFilters(open_at=datetime(2025, 3, 4, 10, 30, tzinfo=AMS)), taxonomy, d
    )(e)
    assert not build_predicate(
        SearchFilters(open_at=datetime(2025, 3, 4, 12, tzinfo=AMS)), taxonomy, d
    )(e)
    morning = SearchFilters(weekday=1, time_from=time(9), time_to=time(12))
    assert build_predicate(morning, taxonomy, d)(e)
    assert not build_predicate(SearchFilters(weekday=3), taxonomy, d)(e)


def test_filter_validation_names_fields() -> None:
    with pytest.raises(ValidationError, match="time_to"):
        SearchFilters(weekday=1, time_from=time(12), time_to=time(9))
    with pytest.raises(ValidationError, match="open_at"):
        SearchFilters(open_at=datetime(2025, 1, 1, 10))
    with pytest.raises(ValidationError, match="age"):
        SearchFilters(age=-1)


def _rank(
    entries: list[Entry], analyzer: Analyzer, taxonomy: Taxonomy, policy: FreshnessPolicy, **kw: Any
) -> list[SearchHit]:
    return rank(entries, analyzer=analyzer, taxonomy=taxonomy, policy=policy, now=NOW, **kw)


def test_title_match_beats_description_match(
    analyzer: Analyzer, taxonomy: Taxonomy, policy: FreshnessPolicy
) -> None:
    title = make_entry("t", name="Taalcafé", categories=["ontmoeting"])
    desc = make_entry(
        "d", name="Buurthuis open", categories=["ontmoeting"], description="Ook een taalcafé."
    )
    other = make_entry("o", name="Klaverjassen", categories=["creatief"])
    hits = _rank([desc, other, title], analyzer, taxonomy, policy, text="taalcafe")
    assert [h.entry.id for h in hits] == ["t", "d"]
    assert hits[0].text_score > hits[1].text_score


def test_distance_decay_and_radius(
    analyzer: Analyzer, taxonomy: Taxonomy, policy: FreshnessPolicy
) -> None:
    near = make_entry("near", lat=52.471, lon=4.855)
    far = make_entry("far", lat=52.49, lon=4.855)
    outside = make_entry("out", lat=52.60, lon=4.855)
    hits = _rank(
        [far, outside, near], analyzer, taxonomy, policy, text="wandelen", center=HOME, radius_km=5
    )
    assert [h.entry.id for h in hits] == ["near", "far"]
    d0, d1 = hits[0].distance_km, hits[1].distance_km
    assert d0 is not None and d1 is not None and d0 < d1
    with pytest.raises(DomainValidationError) as exc:
        _rank([near], analyzer, taxonomy, policy, center=HOME, radius_km=80)
    assert exc.value.fields == ["radius_km"]


def test_stale_flag_and_hidden_never_returned(
    analyzer: Analyzer, taxonomy: Taxonomy, policy: FreshnessPolicy
) -> None:
    fresh = make_entry("fresh")
    stale = make_entry("stale", assured_at=NOW - timedelta(days=200))
    hidden = make_entry("hidden", assured_at=NOW - timedelta(days=300))
    hits = _rank(
        [hidden, stale, fresh], analyzer, taxonomy, policy, text="wandelgroep", center=HOME
    )
    assert [(h.entry.id, h.stale_warning) for h in hits] == [("fresh", False), ("stale", True)]


def test_ties_are_broken_by_name_then_id(
    analyzer: Analyzer, taxonomy: Taxonomy, policy: FreshnessPolicy
) -> None:
    a, b, c = (
        make_entry("b-2", name="Wandelgroep"),
        make_entry("b-1", name="Wandelgroep"),
        make_entry("a", name="wandelgroep"),
    )
    for order in ([a, b, c], [c, b, a], [b, c, a]):
        hits = _rank(order, analyzer, taxonomy, policy, text="wandelgroep", center=HOME)
        assert [h.entry.id for h in hits] == ["a", "b-1", "b-2"]


def test_online_only_entries_are_kept_without_distance(
    analyzer: Analyzer, taxonomy: Taxonomy, policy: FreshnessPolicy
) -> None:
    online = make_entry(
        "online",
        name="Online schuldhulp",
        categories=["schulden"],
        service_at_locations=[
            ServiceAtLocation(id="s", location=Location(id="v", location_type="virtual"))
        ],
        schedules=[],
    )
    hits = _rank([online], analyzer, taxonomy, policy, text="schulden", center=HOME)
    assert hits[0].distance_km is None


def test_demo_search_walk_near_piet(
    demo: SocialMapData, analyzer: Analyzer, taxonomy: Taxonomy, policy: FreshnessPolicy
) -> None:
    home = centroid_for_pc4(PIET_PC4, DEMO_NEIGHBOURHOODS)
    box = bounding_box(home, 2)
    # what the adapter does: indexed box + $in tokens, then rank in Python
    q = set(analyzer.query_tokens("wandelen"))
    candidates = [
        e
        for e in demo.entries
        if any(
            box.contains(GeoPoint(loc.latitude, loc.longitude))
            for loc in e.locations
            if loc.latitude is not None and loc.longitude is not None
        )
        and q & set(index_tokens(e, analyzer, taxonomy))
    ]
    hits = _rank(candidates, analyzer, taxonomy, policy, text="wandelen", center=home, radius_km=2)
    assert hits[0].entry.name == "Wandelgroep De Stappers"
