"""Filling in a questionnaire, one question per screen: the steps every way of filling in
shares (the resident alone, or a professional together with the resident). The pages give
the base URL of the response's screens (`…/q/<n>`, `…/review`); the templates in
`templates/fillin/` take that base and an optional banner."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from portal import instruments
from portal.instruments import Question


def read_answer(
    form: FormData, q: Question, action: str, prefix: str = ""
) -> tuple[dict[str, Any] | None, str | None]:
    """(the answer to save or None, an error text key), a skipped sensitive question too;
    `prefix` keeps the fields apart when all questions share one form."""
    if action == "skip" and q.may_skip:
        return {"skipped": True}, None
    raw = [v for v in form.getlist(f"{prefix}value") if isinstance(v, str)]
    discussable = q.discussable and form.get(f"{prefix}discussable") == "yes"
    try:
        value = instruments.parse_answer(q, raw)
    except ValueError:
        return None, "there_are_errors"
    if value is None:
        return ({"value": None, "discussable": True} if discussable else None), None
    return {"value": value, "discussable": discussable}, None


def next_screen(
    base: str,
    definition: dict[str, Any],
    answers: dict[str, Any],
    q: Question,
    given: dict[str, Any] | None,
    index: int,
    action: str,
) -> str:
    """Where to go after saving the answer to `q` (shown at `index`): the previous question,
    the next one, or the review. Answers can switch conditional questions on or off, so the
    questions are counted again with the new answer."""
    if action == "previous":
        return f"{base}/q/{max(0, index - 1)}"
    now = {**answers, **({q.link_id: given} if given else {})}
    shown = instruments.questions(definition, now)
    position = next((i for i, s in enumerate(shown) if s.link_id == q.link_id), index)
    if position + 1 >= len(shown):
        return f"{base}/review"
    return f"{base}/q/{position + 1}"


def question_context(
    definition: dict[str, Any], response: dict[str, Any], shown: list[Question], index: int
) -> dict[str, Any]:
    current = shown[index]
    return {
        "q": current,
        "index": index,
        "total": len(shown),
        "answer": response.get("answers", {}).get(current.link_id) or {},
    }


def review_rows(definition: dict[str, Any], answers: dict[str, Any], lang: str) -> list[Any]:
    return [
        {
            "q": q,
            "answer": instruments.shown_answer(q, answers.get(q.link_id), lang),
            "skipped": bool((answers.get(q.link_id) or {}).get("skipped")),
            "discussable": bool((answers.get(q.link_id) or {}).get("discussable")),
        }
        for q in instruments.questions(definition, answers)
    ]
