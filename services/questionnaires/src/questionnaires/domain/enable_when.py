"""Which items are enabled, with FHIR R4 enableWhen semantics.

- ``exists``: true when whether the question has an answer equals the condition's boolean.
- ``=`` and the comparisons: true when at least one answer satisfies it (no answer: false).
- ``!=``: true when no answer equals the value (so also when there is no answer).
- Answers to disabled items count as absent, so disabling cascades.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Mapping

from questionnaires.domain.answers import AnswerValue, ItemAnswer
from questionnaires.domain.definition import AnswerScalar, EnableWhen, InstrumentDefinition

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": op.gt,
    "<": op.lt,
    ">=": op.ge,
    "<=": op.le,
}


def enabled_link_ids(
    definition: InstrumentDefinition, answers: Mapping[str, ItemAnswer]
) -> set[str]:
    """Link ids of the enabled items (one pass: conditions only look back)."""
    enabled: set[str] = set()
    effective: dict[str, AnswerValue] = {}
    for group in definition.groups:
        group_on = conditions_hold(group.enable_when, group.enable_behavior, effective)
        for item in group.items:
            if not (
                group_on and conditions_hold(item.enable_when, item.enable_behavior, effective)
            ):
                continue
            enabled.add(item.link_id)
            answer = answers.get(item.link_id)
            if answer is not None and answer.has_value and answer.value is not None:
                effective[item.link_id] = answer.value
    return enabled


def conditions_hold(
    conditions: tuple[EnableWhen, ...], behavior: str, values: Mapping[str, AnswerValue]
) -> bool:
    if not conditions:
        return True
    results = (condition_holds(c, values.get(c.question)) for c in conditions)
    return all(results) if behavior == "all" else any(results)


def condition_holds(condition: EnableWhen, value: AnswerValue | None) -> bool:
    if condition.operator == "exists":
        return (value is not None) == condition.answer
    values: list[AnswerScalar] = (
        [] if value is None else list(value) if isinstance(value, list) else [value]
    )
    if condition.operator == "!=":
        return not any(_equal(v, condition.answer) for v in values)
    if condition.operator == "=":
        return any(_equal(v, condition.answer) for v in values)
    compare = _COMPARE[condition.operator]
    target = condition.answer
    if not _is_number(target):
        return False
    return any(_is_number(v) and compare(float(v), float(target)) for v in values)


def _is_number(value: AnswerScalar) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: AnswerScalar, b: AnswerScalar) -> bool:
    # Keep True from equalling 1: a yes/no answer is not a number.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


__all__ = ["condition_holds", "conditions_hold", "enabled_link_ids"]
