"""Questionnaire definitions as the questionnaires API gives them, flattened to the questions
a resident sees one by one (conditional questions only when their condition holds)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from portal.api import Api
from portal.sessions import Session

CACHE_SECONDS = 300.0
ANSWER_TYPES = ("scale_0_10", "yes_no", "single_choice", "multiple_choice", "number", "short_text")


@dataclass(frozen=True)
class Question:
    index: int
    group_title: dict[str, str]
    item: dict[str, Any]

    @property
    def link_id(self) -> str:
        return str(self.item["link_id"])

    @property
    def kind(self) -> str:
        return str(self.item["answer_type"])

    def text(self, lang: str) -> str:
        return _pick(self.item.get("text"), lang)

    def group(self, lang: str) -> str:
        return _pick(self.group_title, lang)

    @property
    def may_skip(self) -> bool:
        return bool(self.item.get("sensitive"))

    @property
    def discussable(self) -> bool:
        return bool(self.item.get("discussable"))

    def options(self, lang: str) -> list[tuple[str, str]]:
        return [(str(o["code"]), _pick(o.get("label"), lang)) for o in self.item.get("options", [])]


def _pick(texts: Any, lang: str) -> str:
    if isinstance(texts, dict):
        return str(texts.get(lang) or texts.get("nl") or next(iter(texts.values()), ""))
    return str(texts or "")


def title(definition: dict[str, Any], lang: str) -> str:
    return _pick(definition.get("title"), lang)


def description(definition: dict[str, Any], lang: str) -> str:
    return _pick(definition.get("description"), lang)


class DefinitionCache:
    """Published definitions are the same for everyone in a tenant and never change per
    version: kept a few minutes per (tenant, instrument, version)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, int], tuple[float, dict[str, Any]]] = {}

    async def get(
        self, api: Api, session: Session, instrument_id: str, version: int
    ) -> dict[str, Any]:
        tenant = session.user.tenant if session.user else ""
        key = (tenant, instrument_id, version)
        hit = self._cache.get(key)
        if hit is not None and time.time() - hit[0] < CACHE_SECONDS:
            return hit[1]
        body = await api.get(
            session, "questionnaires", f"/instruments/{instrument_id}", version=version
        )
        definition: dict[str, Any] = body["definition"]
        self._cache[key] = (time.time(), definition)
        return definition


def _condition_holds(condition: dict[str, Any], answers: dict[str, Any]) -> bool:
    given = answers.get(str(condition.get("question")), {}).get("value")
    expected = condition.get("answer")
    operator = condition.get("operator", "=")
    if operator == "exists":
        return (given is not None) == bool(expected)
    if given is None:
        return False
    try:
        if operator == "=":
            return bool(given == expected)
        if operator == "!=":
            return bool(given != expected)
        if operator == ">":
            return bool(given > expected)
        if operator == "<":
            return bool(given < expected)
        if operator == ">=":
            return bool(given >= expected)
        if operator == "<=":
            return bool(given <= expected)
    except TypeError:
        return False
    return False


def _enabled(node: dict[str, Any], answers: dict[str, Any]) -> bool:
    conditions = node.get("enable_when") or []
    if not conditions:
        return True
    results = [_condition_holds(c, answers) for c in conditions]
    return any(results) if node.get("enable_behavior") == "any" else all(results)


def questions(definition: dict[str, Any], answers: dict[str, Any]) -> list[Question]:
    """The questions to show now, in order (a condition answered later may add some)."""
    found: list[Question] = []
    for group in definition.get("groups", []):
        if not _enabled(group, answers):
            continue
        for item in group.get("items", []):
            if _enabled(item, answers) and item.get("answer_type") in ANSWER_TYPES:
                found.append(Question(len(found), group.get("title") or {}, item))
    return found


def parse_answer(question: Question, raw: list[str]) -> Any:
    """The value from form fields (strings) in the API's type; None when nothing was chosen.
    Raises ValueError for a value that cannot be right."""
    values = [v for v in (x.strip() for x in raw) if v]
    if not values:
        return None
    kind = question.kind
    if kind == "multiple_choice":
        return values
    value = values[0]
    if kind == "scale_0_10":
        number = int(value)
        if not 0 <= number <= 10:
            raise ValueError(value)
        return number
    if kind == "yes_no":
        if value not in ("true", "false"):
            raise ValueError(value)
        return value == "true"
    if kind == "number":
        return (
            float(value.replace(",", ".")) if not question.item.get("integer_only") else int(value)
        )
    return value


def shown_answer(question: Question, answer: dict[str, Any] | None, lang: str) -> str | None:
    """An answer as words for the review page; None when not answered."""
    if not answer:
        return None
    value = answer.get("value")
    if value is None:
        return None
    if question.kind == "yes_no":
        return ("Yes" if value else "No") if lang == "en" else ("Ja" if value else "Nee")
    labels = dict(question.options(lang))
    if question.kind == "multiple_choice" and isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if question.kind == "single_choice":
        return labels.get(str(value), str(value))
    return str(value)
