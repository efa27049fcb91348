"""Builders shared by the unit tests (imported through conftest's sys.path entry)."""

from __future__ import annotations

from datetime import UTC, datetime

from effect_measurement.domain.inputs import InstrumentKind, MeasurementInput
from effect_measurement.domain.profiles import Profile
from effect_measurement.domain.trajectories import StoredMeasurement, snapshot


def at(year: int, month: int, day: int = 15) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=UTC)


def matrix(
    response: str,
    when: datetime,
    levels: dict[str, int],
    person: str | None = "p1",
    organisation: str | None = "org-a",
    neighbourhood: str = "wijk-01",
    kind: InstrumentKind = InstrumentKind.MEASUREMENT,
) -> StoredMeasurement:
    data = MeasurementInput(
        response_id=response,
        person_id=person,
        organisation=organisation,
        instrument_id="zrm-v1",
        family="zrm",
        kind=kind,
        submitted_at=when,
        levels=levels,
    )
    return snapshot(data, Profile(person or "anon", neighbourhood, "27-44", "single"))
