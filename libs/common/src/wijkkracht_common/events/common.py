"""Events that several services produce with the same shape, one class per producer."""

from __future__ import annotations

from typing import ClassVar

from wijkkracht_common.events.envelope import EventData


class PersonDataErasedBase(EventData):
    """Confirmation that a service erased or anonymised a person's data (counts only)."""

    event_name: ClassVar[str] = "person_data_erased"
    person_id: str
    erased: dict[str, int]
    anonymised: dict[str, int] = {}


class PersonDataExportedBase(EventData):
    """A service stored its part of a person's data export (`wijkkracht_common.export`):
    where the part is and how many records of each kind it holds; never the data itself."""

    event_name: ClassVar[str] = "person_data_exported"
    export_id: str
    person_id: str
    object_name: str
    counts: dict[str, int] = {}
