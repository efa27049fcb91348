"""Checks answers against an instrument definition and reports every problem per item.

Partial saves are type-checked only; submit also demands completeness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import DEFAULT_MAX_LENGTH, InstrumentDefinition, Item
from questionnaires.domain.enable_when import enabled_link_ids
from questionnaires.domain.errors import AnswerError
from questionnaires.domain.i18n import LocalizedText, t

MSG_UNKNOWN_ITEM = t(
    "Deze vraag bestaat niet in deze vragenlijst", "This question is not part of this questionnaire"
)
MSG_WRONG_TYPE = t(
    "Dit soort antwoord past niet bij de vraag", "This kind of answer does not fit the question"
)
MSG_OUT_OF_RANGE = t(
    "Het antwoord valt buiten de toegestane waarden", "The answer is outside the allowed values"
)
MSG_UNKNOWN_OPTION = t("Deze keuze bestaat niet", "This option does not exist")
MSG_TOO_LONG = t("Het antwoord is te lang", "The answer is too long")
MSG_DISABLED = t(
    "Deze vraag hoort niet bij uw eerdere antwoorden",
    "This question does not apply given your earlier answers",
)
MSG_SKIP_NOT_ALLOWED = t("Deze vraag kunt u niet overslaan", "This question cannot be skipped")
MSG_SKIPPED_WITH_VALUE = t(
    "Een overgeslagen vraag heeft geen antwoord", "A skipped question has no answer"
)
MSG_CONFLICT = t(
    "Kies 'Hier wil ik over praten' of 'Hier praat ik liever niet over', niet allebei",
    "Choose 'I want to talk about this' or 'I'd rather not discuss this', not both",
)
MSG_DISCUSS_NOT_ALLOWED = t(
    "Bij deze vraag kunt u geen gesprek aanvragen", "This question cannot be marked for discussion"
)
MSG_REQUIRED = t("Deze vraag moet nog worden beantwoord", "This question still needs an answer")


def validate_answers(
    definition: InstrumentDefinition,
    answers: Mapping[str, ItemAnswer],
    *,
    complete: bool,
) -> list[AnswerError]:
    """Problems with `answers`, unknown items first. `complete` (submit) also demands answers."""
    errors: list[AnswerError] = []

    def add(link_id: str, code: str, message: LocalizedText) -> None:
        errors.append(AnswerError(link_id=link_id, code=code, message=message))

    known = {i.link_id for i in definition.items()}
    for link_id in answers:
        if link_id not in known:
            add(link_id, "unknown_item", MSG_UNKNOWN_ITEM)

    enabled = enabled_link_ids(definition, answers)
    for item in definition.items():
        answer = answers.get(item.link_id)
        if answer is None or answer.is_empty:
            if complete and item.required and item.link_id in enabled:
                add(item.link_id, "required", MSG_REQUIRED)
            continue
        if item.link_id not in enabled:
            add(item.link_id, "disabled_item", MSG_DISABLED)
            continue
        for code, message in _check_marks(item, answer):
            add(item.link_id, code, message)
        if answer.value is not None:
            problem = check_value(item, answer.value)
            if problem:
                add(item.link_id, *problem)
        if complete and item.required and not answer.has_value and not answer.skipped:
            add(item.link_id, "required", MSG_REQUIRED)
    return errors


def _check_marks(item: Item, answer: ItemAnswer) -> list[tuple[str, LocalizedText]]:
    found: list[tuple[str, LocalizedText]] = []
    if answer.skipped:
        if not item.sensitive:
            found.append(("skip_not_allowed", MSG_SKIP_NOT_ALLOWED))
        if answer.value is not None:
            found.append(("skipped_with_value", MSG_SKIPPED_WITH_VALUE))
        if answer.discussable:
            found.append(("conflicting_marks", MSG_CONFLICT))
    if answer.discussable and not item.discussable:
        found.append(("discussable_not_allowed", MSG_DISCUSS_NOT_ALLOWED))
    return found


def check_value(item: Item, value: object) -> tuple[str, LocalizedText] | None:
    """The first problem of `value` for `item`, or None. Strict: no string-to-number coercion."""
    kind = item.answer_type
    if kind == "scale_0_10":
        if not _is_int(value):
            return "wrong_type", MSG_WRONG_TYPE
        assert isinstance(value, int)
        return None if 0 <= value <= 10 else ("out_of_range", MSG_OUT_OF_RANGE)
    if kind == "yes_no":
        return None if isinstance(value, bool) else ("wrong_type", MSG_WRONG_TYPE)
    if kind == "number":
        if not _is_number(value) or (item.integer_only and not _is_int(value)):
            return "wrong_type", MSG_WRONG_TYPE
        assert isinstance(value, int | float)
        if (item.min_value is not None and value < item.min_value) or (
            item.max_value is not None and value > item.max_value
        ):
            return "out_of_range", MSG_OUT_OF_RANGE
        return None
    if kind == "short_text":
        if not isinstance(value, str):
            return "wrong_type", MSG_WRONG_TYPE
        limit = item.max_length or DEFAULT_MAX_LENGTH
        return None if len(value) <= limit else ("too_long", MSG_TOO_LONG)
    if kind == "single_choice":
        if not isinstance(value, str):
            return "wrong_type", MSG_WRONG_TYPE
        return None if item.option(value) else ("unknown_option", MSG_UNKNOWN_OPTION)
    # multiple_choice
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "wrong_type", MSG_WRONG_TYPE
    if len(set(value)) != len(value) or any(item.option(v) is None for v in value):
        return "unknown_option", MSG_UNKNOWN_OPTION
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


__all__ = ["check_value", "validate_answers"]
