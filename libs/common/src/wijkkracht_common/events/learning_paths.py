"""Events produced by the learning paths service (v1).

Ids, module, step, time and other facts only: never a resident's answers, plans or notes,
never names. `module_id` names a module or a long path (`kind`), `version` the published
version the resident follows.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from wijkkracht_common.events.common import PersonDataErasedBase, PersonDataExportedBase
from wijkkracht_common.events.envelope import EventData

ContentKind = Literal["module", "path"]
#: How an enrolment began: on the resident's own, as homework, from a placement, in a cohort.
EnrolmentOrigin = Literal["self", "assignment", "placement", "cohort"]


class _LearningPathsEvent(EventData):
    producer: ClassVar[str] = "learning_paths"


class ModuleStarted(_LearningPathsEvent):
    """A resident started a module or path (their first step opened or completed)."""

    event_name: ClassVar[str] = "module_started"
    enrolment_id: str
    person_id: str
    module_id: str
    kind: ContentKind = "module"
    version: int
    theme: str | None = None
    origin: EnrolmentOrigin = "self"
    organisation: str | None = Field(default=None, description="assigning organisation")
    entry_step: str | None = Field(default=None, description="step the resident started at")
    started_at: datetime


class StepCompleted(_LearningPathsEvent):
    """A resident completed one step (a quiz carries its score, never the answers)."""

    event_name: ClassVar[str] = "step_completed"
    enrolment_id: str
    person_id: str
    module_id: str
    version: int
    step_id: str
    step_kind: str
    score: float | None = Field(default=None, description="quiz score 0..1")
    completed_at: datetime


class ModuleCompleted(_LearningPathsEvent):
    """A resident completed every step of a module or path: an intervention on their
    trajectory (effect measurement records it)."""

    event_name: ClassVar[str] = "module_completed"
    enrolment_id: str
    person_id: str
    module_id: str
    kind: ContentKind = "module"
    version: int
    theme: str | None = None
    dimensions: list[str] = Field(default_factory=list, description="dimension codes")
    origin: EnrolmentOrigin = "self"
    organisation: str | None = Field(default=None, description="assigning organisation")
    started_at: datetime
    completed_at: datetime


class AssignmentCreated(_LearningPathsEvent):
    """A professional assigned a module as homework (the note stays in the service)."""

    event_name: ClassVar[str] = "assignment_created"
    enrolment_id: str
    person_id: str
    module_id: str
    kind: ContentKind = "module"
    version: int
    organisation: str
    assigned_by: str
    due_at: datetime | None = None
    cohort_id: str | None = None
    assigned_at: datetime


class PathPlaced(_LearningPathsEvent):
    """A resident was placed in a long path at the step that fits a measured phase (or a
    professional changed that step)."""

    event_name: ClassVar[str] = "path_placed"
    placement_id: str
    person_id: str
    path_id: str
    step_id: str
    entry_point: str
    source: Literal["measurement", "response", "professional"]
    measurement_id: str | None = None
    response_id: str | None = None
    theme: str | None = None
    phase: int | None = None
    organisation: str | None = Field(default=None, description="for a professional override")
    placed_at: datetime


class LearningPathsPersonDataErased(PersonDataErasedBase):
    """The learning paths service erased a person's data (counts only)."""

    producer: ClassVar[str] = "learning_paths"


class LearningPathsPersonDataExported(PersonDataExportedBase):
    """Its part of a person's data export is stored (wijkkracht_common.export)."""

    producer: ClassVar[str] = "learning_paths"
