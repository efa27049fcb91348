from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.domain.definition import InstrumentDefinition, Item
from questionnaires.domain.enable_when import enabled_link_ids

NOW = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def value_for(item: Item, pick: int = 0) -> object:
    """A valid value; `pick` chooses the scale value or option index."""
    kind = item.answer_type
    if kind == "scale_0_10":
        return pick
    if kind == "yes_no":
        return True
    if kind == "single_choice":
        return item.options[min(pick, len(item.options) - 1)].code
    if kind == "multiple_choice":
        return [item.options[0].code]
    if kind == "number":
        return int(item.min_value or 0)
    return "prima"


def complete_answers(definition: InstrumentDefinition, pick: int = 0) -> dict[str, ItemAnswer]:
    """Answers to every item that is enabled once gates are answered yes."""
    answers = {i.link_id: ItemAnswer(value=value_for(i, pick)) for i in definition.items()}
    enabled = enabled_link_ids(definition, answers)
    return {k: a for k, a in answers.items() if k in enabled}


@pytest.fixture
def health_short() -> InstrumentDefinition:
    return shipped_instrument("health-short")


@pytest.fixture
def effect_monitor() -> InstrumentDefinition:
    return shipped_instrument("effect-monitor")


def minimal_definition() -> dict[str, Any]:
    """A small draft with every feature the rules look at: gate, choice, text, scoring."""

    def tx(nl: str, en: str) -> dict[str, str]:
        return {"nl": nl, "en": en}

    return {
        "id": "demo-check",
        "family": "demo",
        "variant": "standard",
        "version": 1,
        "title": tx("Demo", "Demo"),
        "groups": [
            {
                "link_id": "g1",
                "title": tx("Groep", "Group"),
                "items": [
                    {
                        "link_id": "q1",
                        "text": tx("Hoe gaat het?", "How are you?"),
                        "answer_type": "scale_0_10",
                        "required": True,
                        "dimension": "mental_wellbeing",
                        "discussable": True,
                    },
                    {
                        "link_id": "q2",
                        "text": tx("Heeft u pijn?", "Are you in pain?"),
                        "answer_type": "scale_0_10",
                        "required": True,
                        "sensitive": True,
                        "reverse_scored": True,
                        "dimension": "mental_wellbeing",
                        "enable_when": [{"question": "q1", "operator": "<", "answer": 5}],
                    },
                    {
                        "link_id": "q3",
                        "text": tx("Kies", "Choose"),
                        "answer_type": "single_choice",
                        "options": [
                            {"code": "a", "label": tx("A", "A"), "score": 1},
                            {"code": "b", "label": tx("B", "B"), "score": 2},
                        ],
                    },
                    {
                        "link_id": "q4",
                        "text": tx("Toelichting", "Remarks"),
                        "answer_type": "short_text",
                        "max_length": 20,
                    },
                    {
                        "link_id": "q5",
                        "text": tx("Leeftijd", "Age"),
                        "answer_type": "number",
                        "integer_only": True,
                        "min_value": 0,
                        "max_value": 120,
                    },
                    {
                        "link_id": "q6",
                        "text": tx("Hobby's", "Hobbies"),
                        "answer_type": "multiple_choice",
                        "options": [
                            {"code": "walk", "label": tx("Wandelen", "Walking")},
                            {"code": "read", "label": tx("Lezen", "Reading")},
                        ],
                    },
                ],
            }
        ],
        "scoring": [
            {"dimension": "mental_wellbeing", "items": ["q1", "q2"], "method": "mean"},
        ],
    }


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def minimal_data() -> dict[str, Any]:
    return minimal_definition()


@pytest.fixture
def answers_for() -> Callable[..., dict[str, ItemAnswer]]:
    return complete_answers
