"""Coarse profile projection per person: neighbourhood code, age band, household type.

Never names, addresses, postcodes or birth years are kept: the age band is derived on apply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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


def _coarse(data: PersonProfileInput, now: datetime, previous: Profile | None) -> Profile:
    base = previous or Profile(person_id=data.person_id)
    fields = data.model_fields_set
    band = base.age_band
    if "birth_year" in fields:
        band = UNKNOWN if data.birth_year is None else age_band(data.birth_year, now.year)
    elif "age_band" in fields:
        band = data.age_band if data.age_band in AGE_BANDS else UNKNOWN
    household = base.household_type
    if "household_type" in fields:
        household = data.household_type if data.household_type in HOUSEHOLD_TYPES else UNKNOWN
    neighbourhood = base.neighbourhood_code
    if "neighbourhood_code" in fields:
        neighbourhood = data.neighbourhood_code or UNKNOWN
    return replace(base, neighbourhood_code=neighbourhood, age_band=band, household_type=household)


def apply_person_registered(data: PersonProfileInput, now: datetime) -> Profile:
    """A new profile; fields the event did not carry stay ``onbekend``."""
    return _coarse(data, now, None)


def apply_person_profile_updated(
    current: Profile | None, data: PersonProfileInput, now: datetime
) -> Profile:
    """Patch semantics: only fields present in the event change (an explicit null clears)."""
    return _coarse(data, now, current)
