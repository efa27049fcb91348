"""Enrolments: a resident following one version of a module or path, on their own, as
homework from a professional, from a placement or in a cohort. Pure transitions, no I/O.

Status per learner: not started (assigned, nothing opened) → in progress → completed; an
assignment past its due date and not completed shows as overdue. The steps a resident must
complete are those from their entry step on (a path entered at step 3 does not ask for
steps 1 and 2); steps before it may still be done and are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field
from wijkkracht_common.events.learning_paths import EnrolmentOrigin
from wijkkracht_common.texts import Text

from learning_paths.domain.content import ContentKind, ContentVersion, Frozen, Step
from learning_paths.domain.errors import RuleBroken

EnrolmentStatus = Literal["not_started", "in_progress", "completed"]
DisplayStatus = Literal["not_started", "in_progress", "completed", "overdue"]
DISPLAY_STATUSES: tuple[DisplayStatus, ...] = (
    "not_started",
    "in_progress",
    "completed",
    "overdue",
)


class Assignment(Frozen):
    """Homework: who assigned it on behalf of which organisation, until when, and a note
    for the resident (the note stays in this service: never in events)."""

    organisation: str
    assigned_by: str
    assigned_at: datetime
    due_at: datetime | None = None
    note: str = Field(default="", max_length=2000)


class StepProgress(Frozen):
    step_id: str
    completed_at: datetime
    score: float | None = None


class Enrolment(Frozen):
    id: str
    person_id: str
    content_id: str
    kind: ContentKind
    version: int
    variant: str = "nl"
    theme: str | None = None
    dimensions: tuple[str, ...] = ()
    origin: EnrolmentOrigin = "self"
    status: EnrolmentStatus = "not_started"
    entry_step: str
    required_steps: tuple[str, ...]
    steps: tuple[StepProgress, ...] = ()
    assignment: Assignment | None = None
    placement_id: str | None = None
    cohort_id: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    last_activity_at: datetime
    #: When the last reminder about a due date was staged (never twice for one due date).
    reminded_at: datetime | None = None

    @property
    def organisation(self) -> str | None:
        return self.assignment.organisation if self.assignment else None

    def completed_step_ids(self) -> set[str]:
        return {s.step_id for s in self.steps}

    def progress_of(self, step_id: str) -> StepProgress | None:
        return next((s for s in self.steps if s.step_id == step_id), None)

    def display_status(self, now: datetime) -> DisplayStatus:
        due = self.assignment.due_at if self.assignment else None
        if self.status != "completed" and due is not None and due < now:
            return "overdue"
        return self.status

    def current_step(self) -> str | None:
        """The first required step not completed yet (None when completed)."""
        done = self.completed_step_ids()
        return next((s for s in self.required_steps if s not in done), None)

    def completed_required(self) -> int:
        done = self.completed_step_ids()
        return sum(1 for s in self.required_steps if s in done)


def required_from(version: ContentVersion, entry_step: str) -> tuple[str, ...]:
    ids = version.step_ids()
    if entry_step not in ids:
        raise RuleBroken(
            Text("Deze stap bestaat niet.", "This step does not exist."),
            field="entry_step",
            code="unknown_step",
        )
    return tuple(ids[ids.index(entry_step) :])


@dataclass(frozen=True)
class NewEnrolment:
    id: str
    person_id: str
    kind: ContentKind
    theme: str | None
    dimensions: tuple[str, ...]
    origin: EnrolmentOrigin
    variant: str
    now: datetime
    entry_step: str | None = None
    assignment: Assignment | None = None
    placement_id: str | None = None
    cohort_id: str | None = None


def enrol(version: ContentVersion, new: NewEnrolment) -> Enrolment:
    """A new enrolment on a published version. A resident who starts on their own is in
    progress at once; assigned homework and cohort places wait until opened."""
    if version.status != "published":
        raise RuleBroken(
            Text("Deze module is nog niet gepubliceerd.", "This module is not published yet."),
            code="not_published",
        )
    entry = new.entry_step or version.steps[0].id
    started = new.origin in ("self", "placement")
    return Enrolment(
        id=new.id,
        person_id=new.person_id,
        content_id=version.content_id,
        kind=new.kind,
        version=version.version,
        variant=new.variant if new.variant in version.variants else "nl",
        theme=new.theme,
        dimensions=new.dimensions,
        origin=new.origin,
        status="in_progress" if started else "not_started",
        entry_step=entry,
        required_steps=required_from(version, entry),
        assignment=new.assignment,
        placement_id=new.placement_id,
        cohort_id=new.cohort_id,
        created_at=new.now,
        started_at=new.now if started else None,
        last_activity_at=new.now,
    )


@dataclass(frozen=True)
class StepOutcome:
    enrolment: Enrolment
    started: bool  # this step started the enrolment (module_started)
    newly_completed: bool  # the step was not completed before (step_completed)
    module_completed: bool  # the enrolment completed with it (module_completed)


def start(enrolment: Enrolment, now: datetime) -> tuple[Enrolment, bool]:
    """Open the enrolment (idempotent); True when this started it."""
    if enrolment.status != "not_started":
        return enrolment, False
    return enrolment.model_copy(
        update={"status": "in_progress", "started_at": now, "last_activity_at": now}
    ), True


def complete_step(
    enrolment: Enrolment, step: Step, now: datetime, *, score: float | None = None
) -> StepOutcome:
    """Record a completed step. Completing it again (a quiz retried) keeps the first time and
    the best score; the module completes when every required step is done."""
    if enrolment.status == "completed" and step.id in enrolment.completed_step_ids():
        return StepOutcome(enrolment, False, False, False)
    opened, started = start(enrolment, now)
    previous = opened.progress_of(step.id)
    if previous is not None:
        best = score if previous.score is None else max(previous.score, score or 0.0)
        steps = tuple(
            StepProgress(step_id=s.step_id, completed_at=s.completed_at, score=best)
            if s.step_id == step.id
            else s
            for s in opened.steps
        )
        return StepOutcome(
            opened.model_copy(update={"steps": steps, "last_activity_at": now}),
            started,
            False,
            False,
        )
    steps = (*opened.steps, StepProgress(step_id=step.id, completed_at=now, score=score))
    updated = opened.model_copy(update={"steps": steps, "last_activity_at": now})
    done = updated.current_step() is None and updated.status != "completed"
    if done:
        updated = updated.model_copy(update={"status": "completed", "completed_at": now})
    return StepOutcome(updated, started, True, done)


def move_to_version(enrolment: Enrolment, version: ContentVersion, now: datetime) -> Enrolment:
    """Move a resident to a newer version: steps that still exist keep their progress; the
    entry step stays where it was (or the first step, when it is gone)."""
    if version.version == enrolment.version:
        return enrolment
    ids = version.step_ids()
    entry = enrolment.entry_step if enrolment.entry_step in ids else ids[0]
    steps = tuple(s for s in enrolment.steps if s.step_id in ids)
    moved = enrolment.model_copy(
        update={
            "version": version.version,
            "entry_step": entry,
            "required_steps": required_from(version, entry),
            "steps": steps,
            "last_activity_at": now,
        }
    )
    if moved.status == "completed" and moved.current_step() is not None:
        moved = moved.model_copy(update={"status": "in_progress", "completed_at": None})
    return moved


def change_entry(enrolment: Enrolment, version: ContentVersion, entry_step: str) -> Enrolment:
    """Start elsewhere (the resident's choice, or a professional's override)."""
    return enrolment.model_copy(
        update={"entry_step": entry_step, "required_steps": required_from(version, entry_step)}
    )


def step_of(version: ContentVersion, variant: str, step_id: str) -> Step:
    step = version.variant(variant).step(step_id)
    if step is None:
        raise RuleBroken(
            Text("Deze stap bestaat niet.", "This step does not exist."),
            field="step_id",
            code="unknown_step",
        )
    return step


def count_by_status(enrolments: Sequence[Enrolment], now: datetime) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(DISPLAY_STATUSES, 0)
    for enrolment in enrolments:
        counts[enrolment.display_status(now)] += 1
    return counts
