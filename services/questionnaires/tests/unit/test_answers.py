from __future__ import annotations

from typing import Any

import pytest
from questionnaires.domain.answer_rules import validate_answers
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import EnableWhen, InstrumentDefinition
from questionnaires.domain.enable_when import condition_holds, enabled_link_ids


@pytest.fixture
def demo(minimal_data: dict[str, Any]) -> InstrumentDefinition:
    return InstrumentDefinition.model_validate(minimal_data).model_copy(
        update={"status": "published"}
    )


def errors(demo: InstrumentDefinition, complete: bool = False, **answers: Any) -> dict[str, str]:
    given = {k: v if isinstance(v, ItemAnswer) else ItemAnswer(value=v) for k, v in answers.items()}
    return {e.link_id: e.code for e in validate_answers(demo, given, complete=complete)}


def test_valid_partial_and_complete(demo: InstrumentDefinition) -> None:
    assert errors(demo, q1=8) == {}
    assert errors(demo, complete=True, q1=8, q3="a", q4="fijn", q5=40, q6=["walk"]) == {}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"zz": 3}, {"zz": "unknown_item"}),
        ({"q1": 11}, {"q1": "out_of_range"}),
        ({"q1": -1}, {"q1": "out_of_range"}),
        ({"q1": "7"}, {"q1": "wrong_type"}),
        ({"q1": 7.5}, {"q1": "wrong_type"}),
        ({"q1": True}, {"q1": "wrong_type"}),
        ({"q3": "c"}, {"q3": "unknown_option"}),
        ({"q3": 1}, {"q3": "wrong_type"}),
        ({"q4": "x" * 21}, {"q4": "too_long"}),
        ({"q5": 121}, {"q5": "out_of_range"}),
        ({"q5": 33.3}, {"q5": "wrong_type"}),
        ({"q6": ["walk", "walk"]}, {"q6": "unknown_option"}),
        ({"q6": "walk"}, {"q6": "wrong_type"}),
        # q2 is only asked when q1 < 5
        ({"q1": 8, "q2": 3}, {"q2": "disabled_item"}),
        ({"q2": 3}, {"q2": "disabled_item"}),
    ],
)
def test_bad_input_is_reported_per_item(
    demo: InstrumentDefinition, answers: dict[str, Any], expected: dict[str, str]
) -> None:
    assert errors(demo, **answers) == expected


def test_skip_only_for_sensitive_items(demo: InstrumentDefinition) -> None:
    assert errors(demo, q1=3, q2=ItemAnswer(skipped=True)) == {}
    assert errors(demo, q1=ItemAnswer(skipped=True)) == {"q1": "skip_not_allowed"}
    assert errors(demo, q1=3, q2=ItemAnswer(value=3, skipped=True)) == {"q2": "skipped_with_value"}
    both = ItemAnswer(skipped=True, discussable=True)
    found = validate_answers(demo, {"q1": ItemAnswer(value=3), "q2": both}, complete=False)
    assert "conflicting_marks" in [e.code for e in found]


def test_discussable_only_where_offered(demo: InstrumentDefinition) -> None:
    assert errors(demo, q1=ItemAnswer(value=4, discussable=True)) == {}
    assert errors(demo, q3=ItemAnswer(value="a", discussable=True)) == {
        "q3": "discussable_not_allowed"
    }


def test_submit_requires_enabled_required_items(demo: InstrumentDefinition) -> None:
    assert errors(demo, complete=True) == {"q1": "required"}
    # q1 low enables q2, which is required but sensitive: skipping it is allowed
    assert errors(demo, complete=True, q1=2) == {"q2": "required"}
    assert errors(demo, complete=True, q1=2, q2=ItemAnswer(skipped=True)) == {}
    # only "talk about this" is not an answer
    assert errors(demo, complete=True, q1=ItemAnswer(discussable=True)) == {"q1": "required"}


def test_messages_are_bilingual(demo: InstrumentDefinition) -> None:
    (error,) = validate_answers(demo, {"q1": ItemAnswer(value=12)}, complete=False)
    assert error.message.nl and error.message.en


@pytest.mark.parametrize(
    ("operator", "target", "value", "holds"),
    [
        ("exists", True, 3, True),
        ("exists", True, None, False),
        ("exists", False, None, True),
        ("=", 3, 3, True),
        ("=", 3, None, False),
        ("!=", 3, None, True),  # FHIR: true when no answer equals
        ("!=", 3, 3, False),
        (">", 3, 4, True),
        (">", 3, 3, False),
        (">=", 3, 3, True),
        ("<", 3, 2.5, True),
        ("<=", 3, 4, False),
        ("=", "b", ["a", "b"], True),  # multiple choice: any answer
        ("!=", "b", ["a", "b"], False),
        ("=", True, True, True),
        ("=", 1, True, False),  # yes/no is not a number
        (">", 1, "x", False),
    ],
)
def test_enable_when_operators_follow_fhir(
    operator: str, target: Any, value: Any, holds: bool
) -> None:
    cond = EnableWhen(question="x", operator=operator, answer=target)  # type: ignore[arg-type]
    assert condition_holds(cond, value) is holds


def test_enable_behavior_any_and_cascade(minimal_data: dict[str, Any]) -> None:
    items = minimal_data["groups"][0]["items"]
    items[2]["enable_when"] = [
        {"question": "q1", "operator": ">", "answer": 8},
        {"question": "q2", "operator": "exists", "answer": True},
    ]
    items[2]["enable_behavior"] = "any"
    demo = InstrumentDefinition.model_validate(minimal_data)
    assert "q3" in enabled_link_ids(demo, {"q1": ItemAnswer(value=9)})
    assert "q3" in enabled_link_ids(demo, {"q1": ItemAnswer(value=1), "q2": ItemAnswer(value=5)})
    # q1 = 7 disables q2, so q2's stale answer no longer counts: q3 goes off too.
    stale = {"q1": ItemAnswer(value=7), "q2": ItemAnswer(value=5)}
    assert "q3" not in enabled_link_ids(demo, stale)


def test_group_conditions_disable_all_their_items(minimal_data: dict[str, Any]) -> None:
    minimal_data["groups"].append(
        {
            "link_id": "g2",
            "title": {"nl": "Meer", "en": "More"},
            "enable_when": [{"question": "q3", "operator": "=", "answer": "b"}],
            "items": [
                {"link_id": "q9", "text": {"nl": "Ja?", "en": "Yes?"}, "answer_type": "yes_no"}
            ],
        }
    )
    demo = InstrumentDefinition.model_validate(minimal_data)
    assert "q9" not in enabled_link_ids(demo, {"q3": ItemAnswer(value="a")})
    assert "q9" in enabled_link_ids(demo, {"q3": ItemAnswer(value="b")})
