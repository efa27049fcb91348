from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from pydantic import ValidationError
from social_map.domain.model import (
    Address,
    Cost,
    Eligibility,
    Entry,
    Location,
    Schedule,
    field_errors,
)
from social_map.domain.schedule_rules import STORED
from social_map.service.entries import EntryDraft
from social_map_testkit import make_entry


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.field for e in field_errors(exc.value)]


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (91, 4.8, "latitude"),
        (-90.5, 4.8, "latitude"),
        (52.4, 181, "longitude"),
        (52.4, -180.1, "longitude"),
    ],
)
def test_invalid_coordinates_name_the_field(lat: float, lon: float, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Location(id="l1", latitude=lat, longitude=lon)
    assert _fields(exc) == [field]


def test_coordinates_come_in_pairs_and_owners_must_give_them() -> None:
    with pytest.raises(ValidationError, match="latitude and longitude"):
        Location(id="l1", latitude=52.4)
    assert Location(id="l2", location_type="virtual").latitude is None
    # stored without coordinates (an import dropped unusable ones): kept, not on the map
    assert Location(id="l3").latitude is None
    # but an owner's draft places a physical location on the map
    draft = {"organization_id": "org-a", "name": "Wandelgroep"}
    with pytest.raises(ValidationError, match="a physical location needs latitude"):
        EntryDraft.model_validate(
            {**draft, "service_at_locations": [{"id": "s", "location": {"id": "l"}}]}
        )
    online = {"id": "s", "location": {"id": "l", "location_type": "virtual"}}
    assert EntryDraft.model_validate({**draft, "service_at_locations": [online]}).name


def test_bad_rrule_is_rejected_with_field_name() -> None:
    with pytest.raises(ValidationError) as exc:
        Schedule(id="s", rrule="FREQ=WEEKLY;BYDAY=XX", dtstart=date(2025, 1, 1))
    assert _fields(exc) == ["rrule"]
    with pytest.raises(ValidationError) as exc:
        Schedule(id="s", rrule="nonsense", dtstart=date(2025, 1, 1))
    assert _fields(exc) == ["rrule"]


def test_sub_daily_and_dtstart_in_rrule_are_rejected() -> None:
    with pytest.raises(ValidationError, match="FREQ must be one of"):
        Schedule(id="s", rrule="FREQ=HOURLY", dtstart=date(2025, 1, 1))
    with pytest.raises(ValidationError, match="DTSTART"):
        Schedule(
            id="s", rrule="DTSTART:20250101T100000\nRRULE:FREQ=DAILY", dtstart=date(2025, 1, 1)
        )


def test_count_and_until_together_are_rejected() -> None:
    """RFC 5545: UNTIL and COUNT MUST NOT occur in the same recurrence rule."""
    with pytest.raises(ValidationError, match="COUNT or UNTIL, not both"):
        Schedule(id="s", rrule="FREQ=WEEKLY;COUNT=3;UNTIL=20250301", dtstart=date(2025, 1, 1))
    for one in ("FREQ=WEEKLY;COUNT=3", "FREQ=WEEKLY;UNTIL=20250301"):
        assert Schedule(id="s", rrule=one, dtstart=date(2025, 1, 1)).rrule
    # stored by an earlier version: read back with the end date, not refused
    stored = {"id": "s", "rrule": "FREQ=WEEKLY;COUNT=3;UNTIL=20250301", "dtstart": "2025-01-01"}
    kept = Schedule.model_validate(stored, context={STORED: True})
    assert "UNTIL=20250301" in (kept.rrule or "") and "COUNT" not in (kept.rrule or "")


def test_rrule_is_stored_canonically() -> None:
    s = Schedule(id="s", rrule="RRULE:freq=weekly;interval=1;byday=TU", dtstart=date(2025, 1, 1))
    assert s.rrule == "FREQ=WEEKLY;BYDAY=TU"


def test_schedule_times_and_validity_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="closes_at"):
        Schedule(id="s", dtstart=date(2025, 1, 1), opens_at=time(11), closes_at=time(10))
    with pytest.raises(ValidationError, match="valid_to"):
        Schedule(
            id="s", dtstart=date(2025, 1, 1), valid_from=date(2025, 2, 1), valid_to=date(2025, 1, 1)
        )


def test_cost_rules() -> None:
    assert Cost(free=True, amount=Decimal(0)).amount is None
    assert Cost(free=False, amount=Decimal("3.50")).amount == Decimal("3.50")
    with pytest.raises(ValidationError) as exc:
        Cost(free=True, amount=Decimal(2))
    assert _fields(exc) == ["amount"]
    with pytest.raises(ValidationError):
        Cost(free=False)
    assert Cost(free=False, description="vrijwillige bijdrage").amount is None


def test_eligibility_band() -> None:
    band = Eligibility(minimum_age=55)
    assert band.admits(66) and not band.admits(40)
    with pytest.raises(ValidationError):
        Eligibility(minimum_age=30, maximum_age=20)


def test_dutch_postcode_is_normalised_and_checked() -> None:
    a = Address(address_1="Lindelaan 1", city="Kustdorp", postal_code="9903ab")
    assert a.postal_code == "9903 AB" and a.pc4 == "9903"
    with pytest.raises(ValidationError) as exc:
        Address(address_1="x", city="y", postal_code="99O3")
    assert _fields(exc) == ["postal_code"]


def test_entry_requires_aware_assured_at_and_known_schedule_location() -> None:
    with pytest.raises(ValidationError) as exc:
        make_entry(assured_at=datetime(2025, 1, 1))
    assert _fields(exc) == ["assured_at"]
    base = make_entry()
    bad = base.schedules[0].model_copy(update={"service_at_location_id": "nope"})
    with pytest.raises(ValidationError, match="unknown service_at_location_id"):
        Entry.model_validate({**base.model_dump(), "schedules": [bad.model_dump()]})


def test_entries_are_immutable() -> None:
    e = make_entry()
    with pytest.raises(ValidationError):
        e.name = "x"  # type: ignore[misc]
