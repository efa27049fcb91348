from __future__ import annotations

import pytest
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS, PIET_PC4
from social_map.domain.errors import DomainValidationError
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.geo import GeoPoint, centroid_for_pc4
from social_map.domain.model import SocialMapData
from social_map.domain.recommendations import focus_dimensions, recommend
from social_map.domain.taxonomy import Dimension, Taxonomy
from social_map.domain.text_analysis import Analyzer
from social_map_testkit import NOW, make_entry

PIET_SCORES = {
    "bodily_functions": 7,
    "mental_wellbeing": 5,
    "meaningfulness": 6.5,
    "quality_of_life": 6,
    "participation": 3,
    "daily_functioning": 8,
}


def test_focus_is_the_lowest_one_or_two_below_threshold() -> None:
    assert focus_dimensions(PIET_SCORES) == [Dimension.PARTICIPATION, Dimension.MENTAL_WELLBEING]
    assert focus_dimensions({"participation": 5, "meaningfulness": 5}) == [
        Dimension.MEANINGFULNESS,
        Dimension.PARTICIPATION,
    ]
    assert focus_dimensions({"participation": 8}) == []


def test_bad_scores_name_the_dimension() -> None:
    with pytest.raises(DomainValidationError) as exc:
        focus_dimensions({"participation": 11, "happiness": 2})
    assert set(exc.value.fields) == {"scores.participation", "scores.happiness"}


def test_piet_gets_the_walking_group_nearby_first(
    demo: SocialMapData, taxonomy: Taxonomy, analyzer: Analyzer, policy: FreshnessPolicy
) -> None:
    """Piet, 66, recently widowed, liked walking with his wife; low participation score."""
    home = centroid_for_pc4(PIET_PC4, DEMO_NEIGHBOURHOODS)
    recs = recommend(
        PIET_SCORES,
        home=home,
        candidates=demo.entries,
        taxonomy=taxonomy,
        policy=policy,
        now=NOW,
        age=66,
        interests="wandelen",
        analyzer=analyzer,
    )
    assert recs[0].entry.name == "Wandelgroep De Stappers"
    assert Dimension.PARTICIPATION in recs[0].dimensions
    assert recs[0].reason_nl.startswith("Past bij") and "Meedoen" in recs[0].reason_nl
    assert all(r.entry.eligibility.admits(66) for r in recs)


def test_without_interests_dimension_match_and_distance_decide(
    taxonomy: Taxonomy, policy: FreshnessPolicy
) -> None:
    home = GeoPoint(52.47, 4.855)
    walk = make_entry("walk", categories=["wandelen"], lat=52.471)
    debt = make_entry("debt", categories=["schulden"], lat=52.4705)  # nearer, wrong dimension
    far_walk = make_entry("far", categories=["wandelen"], lat=52.50)
    recs = recommend(
        {"participation": 2},
        home=home,
        candidates=[far_walk, debt, walk],
        taxonomy=taxonomy,
        policy=policy,
        now=NOW,
    )
    assert [r.entry.id for r in recs] == ["walk", "far"]
    assert (
        recommend(
            {"participation": 9},
            home=home,
            candidates=[walk],
            taxonomy=taxonomy,
            policy=policy,
            now=NOW,
        )
        == []
    )
