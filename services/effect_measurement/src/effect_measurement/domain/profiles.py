"""Coarse profile projection per person: neighbourhood code, age band, household type.

Never names, addresses, postcodes or birth years are kept: the age band is derived on apply.

Ordered per field by the event's time (a version check, not read-modify-write in arrival
order): each field keeps the time it was set, and an event older than that leaves the field
as it is. Identity's events can arrive in any order: redelivered, or applied by two replicas
at once; the projection ends the same whatever the order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from effect_measurement.domain.inputs import PersonProfileInput

UNKNOWN = "onbekend"  # value used in aggregates when a profile field is missing

AGE_BANDS: tuple[str, ...] = ("0-17", "18-26", "27-44", "45-64", "65-79", "80+")
_AGE_BAND_LOWER_BOUNDS: tuple[tuple[int, str], ...] = (
    (80, "80+"),
    (65, "65-79"),
    (45, "45-64"),
    (27, "27-44"),
    (18, "18-26"),
    (0, "0-17"),
)
HOUSEHOLD_TYPES: tuple[str, ...] = (
    "single",
    "couple",  # the values identity publishes (events/identity.py HouseholdType)
    "couple_with_children",
    "single_parent",
    "other",
)


def age_band(birth_year: int, current_year: int) -> str:
    """Age band from the birth year only, the same bands identity uses."""
    age = max(current_year - birth_year, 0)
    for lower, label in _AGE_BAND_LOWER_BOUNDS:
        if age >= lower:
            return label
    return AGE_BANDS[0]  # pragma: no cover - age is never negative


@dataclass(frozen=True, slots=True)
class Profile:
    person_id: str
    neighbourhood_code: str = UNKNOWN
    age_band: str = UNKNOWN
    household_type: str = UNKNOWN
    #: When each field was last set (the event's time); a field not named: any event sets it.
    changed_at: Mapping[str, datetime] = field(default_factory=dict, compare=False)


PROFILE_FIELDS: tuple[str, ...] = ("neighbourhood_code", "age_band", "household_type")


def _given(data: PersonProfileInput, now: datetime, *, all_fields: bool) -> dict[str, str]:
    """The profile fields the event sets (all three for a registration: what it does not
    carry was unknown then)."""
    fields = data.model_fields_set
    given: dict[str, str] = {}
    if "birth_year" in fields:
        given["age_band"] = (
            UNKNOWN if data.birth_year is None else age_band(data.birth_year, now.year)
        )
    elif "age_band" in fields:
        given["age_band"] = data.age_band if data.age_band in AGE_BANDS else UNKNOWN
    if "household_type" in fields:
        household = data.household_type
        given["household_type"] = household if household in HOUSEHOLD_TYPES else UNKNOWN
    if "neighbourhood_code" in fields:
        given["neighbourhood_code"] = data.neighbourhood_code or UNKNOWN
    if all_fields:
        given = {name: given.get(name, UNKNOWN) for name in PROFILE_FIELDS}
    return given


def _apply(
    previous: Profile | None, person: str, given: Mapping[str, str], now: datetime
) -> Profile:
    base = previous or Profile(person_id=person)
    changes: dict[str, str] = {}
    changed_at = dict(base.changed_at)
    for name, value in given.items():
        at = changed_at.get(name)
        if at is None or now >= at:  # an older event never overwrites a newer one's field
            changes[name] = value
            changed_at[name] = now
    return replace(base, **changes, changed_at=changed_at)


def apply_person_registered(
    data: PersonProfileInput, now: datetime, current: Profile | None = None
) -> Profile:
    """The profile at registration; fields the event did not carry are ``onbekend``. A field
    an update newer than the registration set (an update that arrived first) is kept."""
    return _apply(current, data.person_id, _given(data, now, all_fields=True), now)


def apply_person_profile_updated(
    current: Profile | None, data: PersonProfileInput, now: datetime
) -> Profile:
    """Patch semantics: only fields present in the event change (an explicit null clears),
    and only where no newer event set them already."""
    return _apply(current, data.person_id, _given(data, now, all_fields=False), now)
