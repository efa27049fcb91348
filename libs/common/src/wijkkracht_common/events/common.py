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
