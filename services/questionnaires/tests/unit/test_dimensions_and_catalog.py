from __future__ import annotations

from collections import Counter

import pytest
from questionnaires.domain.catalog import shipped_instrument, shipped_instruments
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.definition_rules import validate_definition
from questionnaires.domain.dimensions import DIMENSIONS, dimensions_in, is_known_dimension

HEALTH_VARIANTS = {"full", "short", "simple-language", "child", "youth", "english"}
SIX = {
    "bodily_functions",
    "mental_wellbeing",
    "meaningfulness",
    "quality_of_life",
    "participation",
    "daily_functioning",
}


def test_crosswalk_has_the_documented_domains() -> None:
    assert {d.code for d in dimensions_in("health")} == SIX
    assert {d.code for d in dimensions_in("effect_theme")} == {
        "informal_care",
        "relationship",
        "household_budget",
    }
    assert len(dimensions_in("self_sufficiency")) == 13
    assert {"performance_expectancy", "effort_expectancy", "social_influence"} <= {
        d.code for d in dimensions_in("staff_survey")
    }
    for dim in DIMENSIONS.values():
        assert dim.label.nl and dim.label.en


def test_custom_codes_are_allowed_only_with_prefix() -> None:
    assert is_known_dimension("custom.neighbourhood_pride")
    assert not is_known_dimension("neighbourhood_pride")
    assert not is_known_dimension("custom.")
    assert not is_known_dimension("custom.Bad Code")


@pytest.mark.parametrize("definition", shipped_instruments(), ids=lambda d: d.id)
def test_every_shipped_instrument_is_valid_and_published(definition: InstrumentDefinition) -> None:
    assert validate_definition(definition) == []
    assert definition.status == "published"
    assert definition.version == 1
    for item in definition.items():
        assert item.dimension is None or item.dimension in DIMENSIONS


def test_health_family_has_all_six_variants_with_expected_sizes() -> None:
    health = {d.variant: d for d in shipped_instruments() if d.family == "health-self-assessment"}
    assert set(health) == HEALTH_VARIANTS
    sizes = {v: len(list(d.items())) for v, d in health.items()}
    assert sizes["full"] == 40
    assert sizes["short"] == 17
    assert sizes["simple-language"] < sizes["short"]
    assert health["english"].default_language == "en"
    for definition in health.values():
        items = list(definition.items())
        assert all(i.answer_type == "scale_0_10" and i.discussable for i in items)
        assert any(i.sensitive for i in items)
        assert {i.dimension for i in items} == SIX
        assert {r.dimension for r in definition.scoring} == SIX


def test_short_variant_reuses_full_link_ids_for_comparability() -> None:
    full = {i.link_id: i.text for i in shipped_instrument("health-full").items()}
    for item in shipped_instrument("health-short").items():
        assert full[item.link_id] == item.text


def test_self_sufficiency_matrix_is_13_domains_by_5_levels() -> None:
    ssm = shipped_instrument("self-sufficiency-matrix")
    assert ssm.respondent == "professional"
    items = list(ssm.items())
    assert len(items) == 13 and len({i.dimension for i in items}) == 13
    for item in items:
        assert [o.code for o in item.options] == ["1", "2", "3", "4", "5"]
        assert all(o.label.nl and o.label.en for o in item.options)
    assert Counter(r.outcome for r in ssm.scoring) == {"level": 13}


def test_technology_acceptance_substitutes_tool_name() -> None:
    tam = shipped_instrument("technology-acceptance")
    assert tam.parameters == ("tool",)
    with pytest.raises(ValueError, match="missing parameter"):
        tam.instantiate({})
    shown = tam.instantiate({"tool": "Buurtapp"})
    assert shown.title.nl == "Werken met Buurtapp"
    texts = [t for i in shown.items() for t in i.text.texts()]
    assert all("{tool}" not in t for t in texts)
    assert any("Buurtapp" in t for t in texts)
    # Only texts change: scoring is the same instrument.
    assert shown.scoring == tam.scoring


def test_client_satisfaction_has_one_free_text_item() -> None:
    cs = shipped_instrument("client-satisfaction")
    assert len(list(cs.items())) == 6
    assert [i.answer_type for i in cs.items()].count("short_text") == 1
