"""People: one identity per person per tenant, with as little personal data as possible."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from identity.domain.emails import normalise_email
from identity.domain.neighbourhoods import NeighbourhoodTable
from identity.domain.postcodes import validate_pc4
from identity.domain.slugs import validate_slug
from identity.domain.texts import DomainError, Text

MIN_BIRTH_YEAR = 1900


class PersonStatus(StrEnum):
    ACTIVE = "active"
    ERASED = "erased"


class HouseholdType(StrEnum):
    SINGLE = "single"
    COUPLE_WITHOUT_CHILDREN = "couple_without_children"
    COUPLE_WITH_CHILDREN = "couple_with_children"
    SINGLE_PARENT = "single_parent"
    OTHER = "other"


# Lower bounds of age bands; coarse on purpose (aggregates, not profiling).
_AGE_BANDS: tuple[tuple[int, str], ...] = (
    (80, "80+"),
    (65, "65-79"),
    (45, "45-64"),
    (27, "27-44"),
    (18, "18-26"),
    (0, "0-17"),
)


def age_band(birth_year: int, current_year: int) -> str:
    """Age band from the birth year only (no birth date is stored, so the age may be off by one)."""
    age = max(current_year - birth_year, 0)
    for lower, label in _AGE_BANDS:
        if age >= lower:
            return label
    return _AGE_BANDS[-1][1]  # pragma: no cover - age is never negative


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    tenant: str
    display_name: str
    created_at: datetime
    status: PersonStatus = PersonStatus.ACTIVE
    email: str | None = None
    password_hash: str | None = None
    pc4: str | None = None
    neighbourhood_code: str | None = None
    birth_year: int | None = None
    household_type: HouseholdType | None = None

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return validate_slug(value, "tenant")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else normalise_email(value)

    @field_validator("pc4")
    @classmethod
    def _pc4(cls, value: str | None) -> str | None:
        return None if value is None else validate_pc4(value)

    @field_validator("birth_year")
    @classmethod
    def _birth_year(cls, value: int | None) -> int | None:
        if value is not None and not MIN_BIRTH_YEAR <= value <= 2100:
            raise DomainError(Text("Ongeldig geboortejaar.", "Invalid birth year."), "birth_year")
        return value

    @property
    def is_active(self) -> bool:
        return self.status is PersonStatus.ACTIVE

    def age_band(self, current_year: int) -> str | None:
        return None if self.birth_year is None else age_band(self.birth_year, current_year)

    def with_pc4(self, pc4: str | None, table: NeighbourhoodTable) -> Person:
        """Set (or clear) the PC4; the neighbourhood code always follows from the tenant's table."""
        clean = None if pc4 is None else validate_pc4(pc4)
        code = None if clean is None else table.derive(clean)
        return self.model_copy(update={"pc4": clean, "neighbourhood_code": code})

    def erased(self) -> Person:
        """Tombstone after erasure: the id stays (referenced elsewhere), personal data goes."""
        return Person(
            id=self.id,
            tenant=self.tenant,
            display_name="",
            created_at=self.created_at,
            status=PersonStatus.ERASED,
        )


def new_person(
    *,
    person_id: str,
    tenant: str,
    display_name: str,
    now: datetime,
    table: NeighbourhoodTable,
    email: str | None = None,
    pc4: str | None = None,
    birth_year: int | None = None,
    household_type: HouseholdType | None = None,
) -> Person:
    """Validate and build a person; the neighbourhood code is derived, never taken as input."""
    name = display_name.strip()
    if not name:
        raise DomainError(Text("Vul een naam in.", "Enter a name."), "display_name")
    if birth_year is not None and birth_year > now.year:
        raise DomainError(Text("Ongeldig geboortejaar.", "Invalid birth year."), "birth_year")
    person = Person(
        id=person_id,
        tenant=tenant,
        display_name=name,
        created_at=now,
        email=email,
        birth_year=birth_year,
        household_type=household_type,
    )
    return person.with_pc4(pc4, table)
