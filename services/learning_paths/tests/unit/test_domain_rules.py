"""Enrolment transitions, quiz scoring, answers' privacy, placement suggestions, usage
suppression, reminders — pure rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from learning_paths.domain.answers import AnswerInput, quiz_score, ready_to_complete, record
from learning_paths.domain.authoring import parse_source
from learning_paths.domain.content import ContentVersion, EntryPoint, VariantContent
from learning_paths.domain.enrolment import (
    Assignment,
    NewEnrolment,
    complete_step,
    enrol,
    move_to_version,
)
from learning_paths.domain.errors import InvalidContent
from learning_paths.domain.placement import PathEntry, PlacementRule, ResponseFacts, suggest
from learning_paths.domain.reminders import ReminderPrefs, digest_due, due_soon
from learning_paths.domain.usage import UsageFact, group, publish
from pydantic import ValidationError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

MODULE = """---
title: M
---

---
id: a
kind: text
title: A
---
x

---
id: b
kind: quiz
title: B
pass_score: 1
questions:
  - question: Q1
    options: [ja, nee]
    answer: 1
  - question: Q2
    options: [x, y, z]
    answers: [2, 3]
---

---
id: c
kind: exercise
title: C
---
Schrijf.
"""


def version(source: str = MODULE, number: int = 1) -> ContentVersion:
    parsed = parse_source(source, "module")
    return ContentVersion(
        content_id="m1",
        version=number,
        status="published",
        variants={
            "nl": VariantContent(
                variant="nl", title=parsed.title, steps=parsed.steps, source=source
            )
        },
        entry_points=(EntryPoint(key="later", item=2),),
        created_at=NOW,
        created_by="e",
    )


def new(
    origin: str = "self", entry: str | None = None, due: datetime | None = None
) -> NewEnrolment:
    assignment = (
        Assignment(organisation="o", assigned_by="p", assigned_at=NOW, due_at=due)
        if origin == "assignment"
        else None
    )
    return NewEnrolment(
        id="e1",
        person_id="r1",
        kind="module",
        theme=None,
        dimensions=(),
        origin=origin,  # type: ignore[arg-type]
        variant="nl",
        now=NOW,
        entry_step=entry,
        assignment=assignment,
    )


def test_a_module_completes_with_its_last_required_step() -> None:
    v = version()
    enrolment = enrol(v, new())
    assert enrolment.status == "in_progress" and enrolment.required_steps == ("a", "b", "c")
    steps = {s.id: s for s in v.steps}
    first = complete_step(enrolment, steps["a"], NOW)
    assert first.newly_completed and not first.started and not first.module_completed
    again = complete_step(first.enrolment, steps["a"], NOW)
    assert not again.newly_completed
    second = complete_step(again.enrolment, steps["b"], NOW, score=1.0)
    done = complete_step(second.enrolment, steps["c"], NOW + timedelta(hours=1))
    assert done.module_completed and done.enrolment.status == "completed"
    assert done.enrolment.completed_at == NOW + timedelta(hours=1)


def test_homework_waits_and_goes_overdue() -> None:
    v = version()
    enrolment = enrol(v, new("assignment", due=NOW + timedelta(days=1)))
    assert enrolment.status == "not_started"
    assert enrolment.display_status(NOW + timedelta(days=2)) == "overdue"
    started = complete_step(enrolment, v.steps[0], NOW)
    assert started.started and started.enrolment.status == "in_progress"


def test_entering_later_requires_only_the_steps_from_there() -> None:
    v = version()
    enrolment = enrol(v, new(entry=v.entry_step("later")))
    assert enrolment.entry_step == "b" and enrolment.required_steps == ("b", "c")
    with pytest.raises(ValueError):
        enrol(v, new(entry="zz"))
    drafted = v.model_copy(update={"status": "draft"})
    with pytest.raises(ValueError):
        enrol(drafted, new())


def test_moving_to_a_new_version_keeps_progress_of_remaining_steps() -> None:
    v1 = version()
    enrolment = complete_step(enrol(v1, new()), v1.steps[0], NOW).enrolment
    v2 = version(MODULE.replace("id: c\n", "id: d\n"), number=2)
    moved = move_to_version(enrolment, v2, NOW)
    assert moved.version == 2 and moved.required_steps == ("a", "b", "d")
    assert [s.step_id for s in moved.steps] == ["a"]


def test_quiz_scores_need_every_question_and_exact_choices() -> None:
    quiz = version().steps[1]
    assert quiz_score(quiz, {"q1": (1,)}) is None
    assert quiz_score(quiz, {"q1": (1,), "q2": (2,)}) == 0.5
    assert quiz_score(quiz, {"q1": (1,), "q2": (2, 3)}) == 1.0
    half = record(
        None,
        answer_id_="e1:b",
        enrolment_id="e1",
        person_id="r1",
        step=quiz,
        given=AnswerInput(choices={"q1": (1,), "q2": (3,)}),
        now=NOW,
    )
    blocked = ready_to_complete(quiz, half)
    assert blocked is not None and blocked.code == "below_pass_score"
    with pytest.raises(InvalidContent):
        record(
            None,
            answer_id_="e1:b",
            enrolment_id="e1",
            person_id="r1",
            step=quiz,
            given=AnswerInput(text="dit is geen quiz"),
            now=NOW,
        )


def _facts(**phases: int) -> ResponseFacts:
    return ResponseFacts(
        response_id="resp",
        person_id="r1",
        family="effect-monitor",
        instrument_id="effect-monitor",
        submitted_at=NOW,
        phases=phases,
    )


PATH = PathEntry(
    "path",
    "Grip op geld",
    {"start": (1, "p1", "Begin"), "aware": (3, "p3", "Overzicht"), "acting": (5, "p5", "Doen")},
)
RULES = [
    PlacementRule(
        id="a",
        family="effect-monitor",
        theme="household_budget",
        phase_min=1,
        phase_max=1,
        path_id="path",
        entry_point="start",
    ),
    PlacementRule(
        id="b",
        family="effect-monitor",
        theme="household_budget",
        phase_min=2,
        phase_max=2,
        path_id="path",
        entry_point="aware",
    ),
    PlacementRule(
        id="c",
        family="effect-monitor",
        theme="household_budget",
        phase_min=2,
        path_id="path",
        entry_point="acting",
    ),
]


def test_the_measured_phase_picks_the_entry_step() -> None:
    not_aware = suggest(RULES, _facts(household_budget=1), {"path": PATH})
    assert [(s.step_id, s.item) for s in not_aware] == [("p1", 1)]
    aware = suggest(RULES, _facts(household_budget=2), {"path": PATH})
    assert [(s.step_id, s.item) for s in aware] == [("p3", 3)]  # the lower of two matches
    assert "fase 2" in aware[0].reason.nl and "stap 3" in aware[0].reason.nl
    assert suggest(RULES, _facts(household_budget=4), {"path": PATH})[0].step_id == "p5"


def test_unknown_never_places() -> None:
    assert suggest(RULES, _facts(), {"path": PATH}) == []
    assert suggest(RULES, _facts(household_budget=0), {"path": PATH}) == []
    assert suggest(RULES, _facts(relationship=5), {"path": PATH}) == []
    assert suggest(RULES, _facts(household_budget=1), {}) == []  # the path is gone


def test_a_rule_has_one_band() -> None:
    with pytest.raises(ValidationError):
        PlacementRule(id="x", family="f", theme="t", path_id="p", entry_point="e")
    with pytest.raises(ValidationError):
        PlacementRule(
            id="x", family="f", theme="t", phase_min=1, score_min=2, path_id="p", entry_point="e"
        )
    with pytest.raises(ValidationError):
        PlacementRule(
            id="x", family="f", theme="t", phase_min=4, phase_max=2, path_id="p", entry_point="e"
        )


def _fact(content: str, professional: str | None, completed: bool, days: float = 1) -> UsageFact:
    return UsageFact(
        content_id=content,
        version=1,
        organisation="o" if professional else None,
        professional=professional,
        started=True,
        completed=completed,
        seconds_to_complete=days * 86_400 if completed else None,
        completed_steps=("a", "b") if completed else ("a",),
        created_at=NOW,
    )


def test_small_cells_are_suppressed_with_a_complement() -> None:
    facts = (
        [_fact("m1", "p1", True, days=n) for n in range(1, 11)]
        + [_fact("m1", "p1", False) for _ in range(10)]
        + [_fact("m2", "p2", True) for _ in range(3)]
        + [_fact("m3", "p3", True) for _ in range(12)]
    )
    rows, totals = publish(group(facts, "module"), 5, steps_of={"m1": ("a", "b")})
    by_key = {r.key: r for r in rows}
    assert by_key["m1"].enrolments == 20 and by_key["m1"].completions == 10
    assert by_key["m1"].median_days_to_complete == 5.5
    assert by_key["m1"].drop_off == {"a": 10, "b": 0}  # zero identifies nobody: shown
    assert by_key["m2"].suppressed and by_key["m2"].enrolments is None
    # complementary: m2 alone would be derivable from the total, so m3 (next smallest) hides too
    assert by_key["m3"].suppressed
    assert totals["enrolments"] == 35


def test_reminders_are_bundled_and_the_digest_is_weekly() -> None:
    v = version()
    soon = enrol(v, new("assignment", due=NOW + timedelta(days=1)))
    later = enrol(v, new("assignment", due=NOW + timedelta(days=9))).model_copy(update={"id": "e2"})
    found = due_soon([soon, later], NOW, timedelta(days=2))
    assert [e.id for e in found] == ["e1"]
    reminded = soon.model_copy(update={"reminded_at": NOW})
    assert due_soon([reminded], NOW + timedelta(hours=2), timedelta(days=2)) == []
    prefs = ReminderPrefs(person_id="r1", email="a@b.nl", updated_at=NOW)
    assert digest_due(prefs, NOW)
    assert not digest_due(prefs.model_copy(update={"last_digest_at": NOW}), NOW + timedelta(days=3))
