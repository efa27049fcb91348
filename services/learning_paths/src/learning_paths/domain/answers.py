"""A resident's answers to steps: reflections, plans, ticked checklist items, quiz choices.

Answers are the resident's own. They never travel in events (a quiz's score does), and a
professional sees one only when the resident shares that step (`shared`), on top of the
consent that lets them see progress at all.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from wijkkracht_common.texts import Text

from learning_paths.domain.content import Frozen, Step
from learning_paths.domain.errors import InvalidContent, Issue

MAX_TEXT = 20_000


class AnswerInput(Frozen):
    """What a resident sends for a step; which field applies depends on the step's kind."""

    text: str | None = Field(default=None, max_length=MAX_TEXT)  # exercise
    plan: dict[str, str] | None = None  # plan: prompt number ("1", "2", ...) → text
    checked: tuple[int, ...] | None = None  # checklist: 1-based item numbers
    choices: dict[str, tuple[int, ...]] | None = None  # quiz: question id → 1-based options


class Answer(Frozen):
    id: str
    enrolment_id: str
    person_id: str
    step_id: str
    kind: str
    text: str | None = None
    plan: dict[str, str] = {}
    checked: tuple[int, ...] = ()
    choices: dict[str, tuple[int, ...]] = {}
    score: float | None = None
    shared: bool = False
    updated_at: datetime


def answer_id(enrolment_id: str, step_id: str) -> str:
    return f"{enrolment_id}:{step_id}"


def _issue(path: str, nl: str, en: str, code: str = "invalid") -> Issue:
    return Issue(path, code, Text(nl, en))


def validate(step: Step, given: AnswerInput) -> list[Issue]:
    issues: list[Issue] = []
    if step.kind == "exercise" and given.text is None:
        issues.append(_issue("text", "Schrijf uw antwoord.", "Write your answer.", "required"))
    if step.kind == "plan":
        for key, value in (given.plan or {}).items():
            if not key.isdigit() or not 1 <= int(key) <= len(step.prompts):
                issues.append(_issue(f"plan.{key}", "Deze vraag bestaat niet.", "No such prompt."))
            elif len(value) > MAX_TEXT:
                issues.append(_issue(f"plan.{key}", "Te lang.", "Too long.", "too_long"))
    if step.kind == "checklist":
        for n in given.checked or ():
            if not 1 <= n <= len(step.items):
                issues.append(_issue("checked", "Dit punt bestaat niet.", "No such item."))
    if step.kind == "quiz":
        questions = {q.id: q for q in step.questions}
        for qid, picked in (given.choices or {}).items():
            question = questions.get(qid)
            if question is None:
                issues.append(
                    _issue(f"choices.{qid}", "Deze vraag bestaat niet.", "No such question.")
                )
            elif not picked or any(not 1 <= n <= len(question.options) for n in picked):
                issues.append(
                    _issue(f"choices.{qid}", "Kies een bestaand antwoord.", "Pick an option.")
                )
    wrong_field = {
        "text": given.text is not None and step.kind != "exercise",
        "plan": given.plan is not None and step.kind != "plan",
        "checked": given.checked is not None and step.kind != "checklist",
        "choices": given.choices is not None and step.kind != "quiz",
    }
    for name, wrong in wrong_field.items():
        if wrong:
            issues.append(
                _issue(
                    name,
                    f"Dit veld hoort niet bij een stap van soort {step.kind}.",
                    f"This field does not belong to a step of kind {step.kind}.",
                    "not_applicable",
                )
            )
    return issues


def quiz_score(step: Step, choices: dict[str, tuple[int, ...]]) -> float | None:
    """Share of questions answered exactly right (all correct options, nothing else); None
    until every question is answered."""
    if not step.questions or any(q.id not in choices for q in step.questions):
        return None
    right = 0
    for question in step.questions:
        correct = {n + 1 for n, o in enumerate(question.options) if o.correct}
        if set(choices[question.id]) == correct:
            right += 1
    return round(right / len(step.questions), 4)


def record(
    previous: Answer | None,
    *,
    answer_id_: str,
    enrolment_id: str,
    person_id: str,
    step: Step,
    given: AnswerInput,
    now: datetime,
) -> Answer:
    """The stored answer after saving `given` (fields not sent keep their value)."""
    issues = validate(step, given)
    if issues:
        raise InvalidContent(issues)
    base = previous or Answer(
        id=answer_id_,
        enrolment_id=enrolment_id,
        person_id=person_id,
        step_id=step.id,
        kind=step.kind,
        updated_at=now,
    )
    update: dict[str, object] = {"updated_at": now}
    if given.text is not None:
        update["text"] = given.text
    if given.plan is not None:
        update["plan"] = {**base.plan, **given.plan}
    if given.checked is not None:
        update["checked"] = tuple(sorted(set(given.checked)))
    if given.choices is not None:
        choices = {**base.choices, **{k: tuple(sorted(set(v))) for k, v in given.choices.items()}}
        update["choices"] = choices
        update["score"] = quiz_score(step, choices)
    return base.model_copy(update=update)


def ready_to_complete(step: Step, answer: Answer | None) -> Issue | None:
    """Why a step cannot be completed yet (None: it can)."""
    if step.kind == "exercise" and (answer is None or not (answer.text or "").strip()):
        return _issue(
            "text", "Schrijf eerst uw antwoord.", "Write your answer first.", "answer_required"
        )
    if step.kind == "quiz":
        score = answer.score if answer else None
        if score is None:
            return _issue(
                "choices",
                "Beantwoord eerst alle vragen.",
                "Answer every question first.",
                "answer_required",
            )
        if score < step.pass_score:
            return _issue(
                "choices",
                "Nog niet genoeg goede antwoorden; probeer het nog eens.",
                "Not enough right answers yet; try again.",
                "below_pass_score",
            )
    return None
