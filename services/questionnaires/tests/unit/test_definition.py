from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.definition_rules import validate_definition
from questionnaires.domain.errors import InvalidDefinition, LifecycleError


def codes(definition: InstrumentDefinition) -> dict[str, str]:
    return {i.path: i.code for i in validate_definition(definition)}


def test_lifecycle_draft_published_retired(minimal_data: dict[str, Any], now: datetime) -> None:
    draft = InstrumentDefinition.model_validate(minimal_data)
    assert draft.status == "draft"
    amended = draft.amend(title={"nl": "Nieuw", "en": "New"})
    assert amended.title.nl == "Nieuw"
    published = amended.publish(now)
    assert (published.status, published.published_at) == ("published", now)
    with pytest.raises(LifecycleError):
        published.amend(title={"nl": "Anders", "en": "Other"})
    with pytest.raises(LifecycleError):
        published.publish(now)
    retired = published.retire(now)
    assert retired.status == "retired"
    with pytest.raises(LifecycleError):
        retired.retire(now)
    with pytest.raises(LifecycleError):
        draft.retire(now)


def test_new_version_is_a_draft_and_leaves_the_old_one_untouched(
    minimal_data: dict[str, Any], now: datetime
) -> None:
    published = InstrumentDefinition.model_validate(minimal_data).publish(now)
    v2 = published.new_version(2)
    assert (v2.version, v2.status, v2.published_at) == (2, "draft", None)
    assert published.status == "published" and published.version == 1
    with pytest.raises(LifecycleError):
        published.new_version(1)


def test_amend_cannot_touch_identity_or_status(minimal_data: dict[str, Any], now: datetime) -> None:
    draft = InstrumentDefinition.model_validate(minimal_data)
    with pytest.raises(LifecycleError):
        draft.amend(version=5)


def test_published_model_is_frozen(minimal_data: dict[str, Any], now: datetime) -> None:
    published = InstrumentDefinition.model_validate(minimal_data).publish(now)
    with pytest.raises(ValueError, match="frozen"):
        published.title = published.title  # type: ignore[misc]


def test_publish_refuses_an_invalid_draft(minimal_data: dict[str, Any], now: datetime) -> None:
    data = minimal_data
    data["groups"][0]["items"][1]["link_id"] = "q1"
    with pytest.raises(InvalidDefinition) as caught:
        InstrumentDefinition.model_validate(data).publish(now)
    issues = {i.path: i.code for i in caught.value.issues}
    assert issues["groups[0].items[1].link_id"] == "duplicate_link_id"
    # q2 no longer exists, so the scoring rule that used it is reported as well.
    assert issues["scoring[0].items[1]"] == "unknown_question"


@pytest.mark.parametrize(
    ("mutate", "path", "code"),
    [
        (
            lambda d: d["groups"][0]["items"][0]["text"].pop("en"),
            "groups[0].items[0].text.en",
            "missing_translation",
        ),
        (
            lambda d: d["groups"][0]["items"][2]["options"].append(
                {"code": "a", "label": {"nl": "x", "en": "x"}, "score": 9}
            ),
            "groups[0].items[2].options[2].code",
            "duplicate_option_code",
        ),
        (
            lambda d: d["groups"][0]["items"][0].update(dimension="nonsense"),
            "groups[0].items[0].dimension",
            "unknown_dimension",
        ),
        (
            lambda d: d["groups"][0]["items"][1]["enable_when"][0].update(question="nope"),
            "groups[0].items[1].enable_when[0].question",
            "unknown_question",
        ),
        (
            lambda d: d["groups"][0]["items"][0].update(
                enable_when=[{"question": "q2", "operator": "=", "answer": True}]
            ),
            "groups[0].items[0].enable_when[0].question",
            "forward_reference",
        ),
        (
            lambda d: d["groups"][0]["items"][1]["enable_when"][0].update(operator="exists"),
            "groups[0].items[1].enable_when[0].answer",
            "invalid_condition",
        ),
        (
            lambda d: d["groups"][0]["items"][1]["enable_when"][0].update(answer=11),
            "groups[0].items[1].enable_when[0].answer",
            "invalid_condition",
        ),
        (lambda d: d["scoring"][0]["items"].append("q4"), "scoring[0].items[2]", "not_scorable"),
        (lambda d: d["scoring"][0].update(outcome="phase"), "scoring[0].bands", "bands_required"),
        (
            lambda d: d["groups"][0]["items"][0].update(min_value=1),
            "groups[0].items[0]",
            "range_not_allowed",
        ),
        (
            lambda d: d["groups"][0]["items"][3].update(max_length=0),
            "groups[0].items[3].max_length",
            "invalid_max_length",
        ),
        (
            lambda d: d["groups"][0]["items"][0]["text"].update(nl="Hoe vindt u {tool}?"),
            "groups[0].items[0].text",
            "unknown_parameter",
        ),
        (
            lambda d: d["groups"][0]["items"][2]["options"].pop(),
            "groups[0].items[2].options",
            "options_required",
        ),
    ],
)
def test_rule_violations_point_at_the_element(
    mutate: Any, path: str, code: str, minimal_data: dict[str, Any]
) -> None:
    data = minimal_data
    mutate(data)
    found = codes(InstrumentDefinition.model_validate(data))
    assert found.get(path) == code, found


def test_bands_must_start_at_zero_and_ascend(minimal_data: dict[str, Any], now: datetime) -> None:
    data = minimal_data
    data["scoring"][0]["outcome"] = "phase"
    data["scoring"][0]["bands"] = [{"min": 1, "value": 1}, {"min": 1, "value": 2}]
    found = codes(InstrumentDefinition.model_validate(data))
    assert found["scoring[0].bands[0].min"] == "invalid_bands"
    assert found["scoring[0].bands[1].min"] == "invalid_bands"


def test_minimal_definition_is_valid(minimal_data: dict[str, Any], now: datetime) -> None:
    assert validate_definition(InstrumentDefinition.model_validate(minimal_data)) == []


def test_item_lookup_by_link_id_follows_copies(minimal_data: dict[str, Any]) -> None:
    definition = InstrumentDefinition.model_validate(minimal_data)
    for item in definition.items():
        assert definition.item(item.link_id) is item
    assert definition.item("nope") is None
    # The index is no field: dumps and equality ignore it.
    assert definition == InstrumentDefinition.model_validate(minimal_data)
    assert "_item_index" not in definition.model_dump()
    # A copy with other groups gets its own index (model_copy copies the cached one along).
    group = definition.groups[0]
    renamed = group.items[0].model_copy(update={"link_id": "q-new"})
    changed = definition.model_copy(
        update={
            "groups": (
                group.model_copy(update={"items": (renamed, *group.items[1:])}),
                *definition.groups[1:],
            )
        }
    )
    assert changed.item("q-new") is renamed
    assert changed.item(group.items[0].link_id) is None
    assert definition.item("q-new") is None
