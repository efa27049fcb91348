"""Events produced by the effect measurement service (v1)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from wijkkracht_common.events.common import PersonDataErasedBase, PersonDataExportedBase
from wijkkracht_common.events.envelope import EventData


class _EffectsEvent(EventData):
    producer: ClassVar[str] = "effect_measurement"


class MeasurementRecorded(_EffectsEvent):
    """A measurement was added to a resident's trajectory (baseline or follow-up)."""

    event_name: ClassVar[str] = "measurement_recorded"
    measurement_id: str
    response_id: str
    person_id: str
    trajectory_id: str
    family: str
    sequence: int  # 0 = baseline, 1.. = follow-ups
    recorded_at: datetime


class FollowupDue(_EffectsEvent):
    """A follow-up measurement is due; questionnaires turns it into an invitation."""

    event_name: ClassVar[str] = "followup_due"
    trajectory_id: str
    person_id: str
    instrument_id: str
    family: str
    sequence: int
    due_at: datetime


class EffectsPersonDataErased(PersonDataErasedBase):
    """The effect measurement service removed a person's data; aggregates stay consistent."""

    producer: ClassVar[str] = "effect_measurement"


class EffectsPersonDataExported(PersonDataExportedBase):
    """Its part of a person's data export is stored (wijkkracht_common.export)."""

    producer: ClassVar[str] = "effect_measurement"
