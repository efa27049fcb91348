"""Events produced by the questionnaires service (v1).

Scores, phases, levels and counts only: never answers' free text, never names.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from wijkkracht_common.events.common import PersonDataErasedBase, PersonDataExportedBase
from wijkkracht_common.events.envelope import EventData

#: What an instrument is for: a conversation tool (own trend only), a measurement instrument
#: (trajectories, aggregates, benchmarks) or a survey (staff/client feedback).
InstrumentPurpose = Literal["self_assessment", "measurement", "survey"]


class _QuestionnairesEvent(EventData):
    producer: ClassVar[str] = "questionnaires"


class InstrumentPublished(_QuestionnairesEvent):
    """An instrument version was published in the tenant."""

    event_name: ClassVar[str] = "instrument_published"
    instrument_id: str
    family: str
    variant: str
    version: int
    purpose: InstrumentPurpose
    dimension_codes: list[str] = []


class InvitationSent(_QuestionnairesEvent):
    """A professional invited a resident to fill in an instrument (also follow-ups)."""

    event_name: ClassVar[str] = "invitation_sent"
    invitation_id: str
    instrument_id: str
    person_id: str | None = None
    invited_by: str
    due_at: datetime | None = None
    followup_of: str | None = Field(default=None, description="trajectory id, for follow-ups")


class ResponseSubmitted(_QuestionnairesEvent):
    """A response was submitted and scored: scores, phases, levels and counts, never answers."""

    event_name: ClassVar[str] = "response_submitted"
    # Effect measurement's fold partitions by person (anonymous responses by response).
    partition_by: ClassVar[tuple[str, ...]] = ("person_id", "response_id")
    response_id: str
    person_id: str | None = Field(default=None, description="None for anonymous responses")
    instrument_id: str
    family: str
    variant: str
    version: int
    purpose: InstrumentPurpose
    submitted_at: datetime
    dimension_scores: dict[str, float] = Field(description="dimension code → 0..10")
    phases: dict[str, int] = Field(default_factory=dict, description="theme → phase 1..5")
    levels: dict[str, int] = Field(default_factory=dict, description="domain → level 1..5")
    skipped_count: int = 0
    discussable_count: int = 0
    assisted: bool = False
    invitation_id: str | None = None
    trajectory_id: str | None = Field(default=None, description="set for invited follow-ups")


class InvitationAnswersShared(_QuestionnairesEvent):
    """At the end of an invited response the resident allowed the inviting organisation to see
    the answers. With a person (an account, now or attached later) identity records it as
    `share_results` consent for that organisation (revocable like any other)."""

    event_name: ClassVar[str] = "invitation_answers_shared"
    invitation_id: str
    response_id: str
    organisation_slug: str
    person_id: str | None = Field(default=None, description="None until attached to an account")


class ResponseShared(_QuestionnairesEvent):
    """A resident's response was shown to an organisation or exported (FHIR) with consent."""

    event_name: ClassVar[str] = "response_shared"
    response_id: str
    person_id: str
    shared_with: str = Field(description="organisation slug, or 'gp' for a FHIR export")
    format: Literal["view", "fhir_r4"] = "view"


class QuestionnairesPersonDataErased(PersonDataErasedBase):
    """The questionnaires service erased or anonymised a person's data."""

    producer: ClassVar[str] = "questionnaires"


class QuestionnairesPersonDataExported(PersonDataExportedBase):
    """Its part of a person's data export is stored (wijkkracht_common.export)."""

    producer: ClassVar[str] = "questionnaires"
