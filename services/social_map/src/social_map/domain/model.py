"""Social-map model, aligned with Open Referral HSDS 3.0.

Field names follow HSDS where HSDS has the concept. Deviations (see `HSDS_FIELD_MAP`):
- `assured_at` (datetime) / `assured_by` replace HSDS `assured_date` / `assurer_email`;
- categories are plain taxonomy codes (`category_codes`), exported as HSDS attributes;
- one `cost` and one `eligibility` age band per entry (HSDS: cost_options[], minimum/maximum_age);
- an `Entry` is an HSDS service plus its service_at_locations (with the location embedded,
  because the store keeps one document per entry) and the freshness bookkeeping.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from social_map.domain.errors import FieldError
from social_map.domain.schedule_rules import STORED, canonical_rrule, until_over_count

Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")]
Text = Annotated[str, Field(max_length=4000)]
ShortText = Annotated[str, Field(max_length=300)]

_PC_RE = re.compile(r"^(\d{4})\s?([A-Za-z]{2})?$")

#: Our field → HSDS 3.0 field, for export documentation and the interchange module.
HSDS_FIELD_MAP: dict[str, str] = {
    "assured_at": "service.assured_date (date part)",
    "assured_by": "service.assurer_email",
    "category_codes": "service.attributes[].taxonomy_term (taxonomy 'wijkkracht')",
    "eligibility.minimum_age": "service.minimum_age",
    "eligibility.maximum_age": "service.maximum_age",
    "eligibility.description": "service.eligibility_description",
    "cost": "service.cost_options[0] (amount 0 = free) + service.fees_description",
    "kind": "service.attributes[] (taxonomy 'wijkkracht-kind')",
    "organization.kind": "organization.legal_status ('residents_initiative' | 'organisation')",
    "schedule.rrule": "schedule.freq/interval/byday/bymonthday/byweekno/byyearday/count/until/wkst",
    "location.accessibility[].code": "accessibility.details",
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class EntryKind(StrEnum):
    SERVICE = "service"
    ACTIVITY = "activity"


class OwnerKind(StrEnum):
    ORGANISATION = "organisation"
    RESIDENTS_INITIATIVE = "residents_initiative"


class ServiceStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DEFUNCT = "defunct"
    TEMPORARILY_CLOSED = "temporarily closed"


class LocationType(StrEnum):
    PHYSICAL = "physical"
    POSTAL = "postal"
    VIRTUAL = "virtual"


class Organization(_Model):
    """Owner of entries: a member organisation of the tenant or a residents' initiative."""

    id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Text = ""
    email: ShortText | None = None
    website: ShortText | None = None
    kind: OwnerKind = OwnerKind.ORGANISATION
    #: identity's organisation slug when the owner is a tenant member; None for initiatives/imports.
    tenant_org_slug: Slug | None = None


class Address(_Model):
    address_1: ShortText
    address_2: ShortText | None = None
    city: ShortText
    postal_code: ShortText
    region: ShortText | None = None
    state_province: ShortText | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "NL"

    @model_validator(mode="after")
    def _dutch_postcode(self) -> Self:
        if self.country == "NL":
            m = _PC_RE.match(self.postal_code)
            if m is None:
                raise ValueError("postal_code: expected a Dutch postcode like '9901 AB'")
            normal = m.group(1) + (f" {m.group(2).upper()}" if m.group(2) else "")
            object.__setattr__(self, "postal_code", normal)
        return self

    @property
    def pc4(self) -> str | None:
        m = _PC_RE.match(self.postal_code)
        return m.group(1) if m else None


class Accessibility(_Model):
    #: machine-readable feature, e.g. "wheelchair", "hearing_loop", "accessible_toilet".
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
    description: ShortText = ""


class Location(_Model):
    id: Id
    name: ShortText = ""
    description: Text = ""
    location_type: LocationType = LocationType.PHYSICAL
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    address: Address | None = None
    accessibility: list[Accessibility] = []

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        # a physical location without coordinates exists (an import that dropped unusable
        # ones); it is not on the map. Owners must give them (`EntryDraft`).
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must be given together")
        return self


class Phone(_Model):
    id: Id
    number: Annotated[str, Field(min_length=3, max_length=40)]
    description: ShortText = ""


class Contact(_Model):
    id: Id
    name: ShortText = ""
    title: ShortText = ""
    email: ShortText | None = None
    phones: list[Phone] = []


class Language(_Model):
    #: ISO 639-1 code ("nl", "en", "ar", "tr", ...). `name` as the source spelled it.
    code: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
    name: ShortText = ""


class Cost(_Model):
    free: bool = True
    amount: Annotated[Decimal, Field(ge=0, max_digits=9, decimal_places=2)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    description: ShortText = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.free and self.amount not in (None, Decimal(0)):
            raise ValueError("amount: a free offer has no amount")
        if not self.free and self.amount is None and not self.description:
            raise ValueError("amount: give an amount or a description for a paid offer")
        if self.free and self.amount is not None:
            object.__setattr__(self, "amount", None)
        return self


class Eligibility(_Model):
    """Audience: one age band (inclusive) plus free text."""

    minimum_age: Annotated[int, Field(ge=0, le=120)] | None = None
    maximum_age: Annotated[int, Field(ge=0, le=120)] | None = None
    description: ShortText = ""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        lo, hi = self.minimum_age, self.maximum_age
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("minimum_age must not exceed maximum_age")
        return self

    def admits(self, age: int) -> bool:
        lo = self.minimum_age if self.minimum_age is not None else 0
        hi = self.maximum_age if self.maximum_age is not None else 200
        return lo <= age <= hi


class Schedule(_Model):
    """A recurring opening time or activity slot, in local time (Europe/Amsterdam).

    `rrule` holds the RFC 5545 RRULE value without DTSTART (e.g. "FREQ=WEEKLY;BYDAY=TU");
    None means a one-off on `dtstart`. It is stored in dateutil's canonical spelling.
    """

    id: Id
    rrule: str | None = None
    dtstart: date
    opens_at: time | None = None
    closes_at: time | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    description: ShortText = ""
    #: None = applies to every location of the entry.
    service_at_location_id: Id | None = None

    @field_validator("rrule")
    @classmethod
    def _valid_rrule(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or v == "":
            return None
        if info.context and info.context.get(STORED):
            v = until_over_count(v)  # stored before COUNT with UNTIL was refused
        return canonical_rrule(v)

    @model_validator(mode="after")
    def _times(self) -> Self:
        if self.opens_at and self.closes_at and self.opens_at >= self.closes_at:
            raise ValueError("closes_at must be after opens_at")
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("valid_to must not be before valid_from")
        return self


class ServiceAtLocation(_Model):
    id: Id
    location: Location
    description: Text = ""


class OutdatedReport(_Model):
    """ "Dit klopt niet meer" — a report that an entry is outdated or wrong."""

    id: Id
    reporter: Annotated[str, Field(min_length=1, max_length=100)]  # actor id, never a name
    note: Annotated[str, Field(max_length=280)] = ""
    reported_at: datetime
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Entry(_Model):
    """One item on the social map: an HSDS service, or an activity with dated occurrences."""

    id: Id
    tenant: Slug
    kind: EntryKind = EntryKind.SERVICE
    organization_id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    alternate_name: ShortText = ""
    description: Text = ""
    url: ShortText | None = None
    email: ShortText | None = None
    status: ServiceStatus = ServiceStatus.ACTIVE
    category_codes: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,60}$")]] = []
    service_at_locations: list[ServiceAtLocation] = []
    schedules: list[Schedule] = []
    contacts: list[Contact] = []
    phones: list[Phone] = []
    cost: Cost = Cost()
    eligibility: Eligibility = Eligibility()
    languages: list[Language] = []
    assured_at: datetime | None = None
    assured_by: ShortText | None = None
    outdated_reports: list[OutdatedReport] = []
    #: bumped by the service on every change; signed verification links bind to it.
    revision: Annotated[int, Field(ge=0)] = 0

    @field_validator("assured_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("assured_at must carry a timezone")
        return v

    @model_validator(mode="after")
    def _schedule_refs(self) -> Self:
        sal_ids = {s.id for s in self.service_at_locations}
        for s in self.schedules:
            if s.service_at_location_id is not None and s.service_at_location_id not in sal_ids:
                raise ValueError(
                    f"schedules: unknown service_at_location_id {s.service_at_location_id!r}"
                )
        return self

    @property
    def open_reports(self) -> list[OutdatedReport]:
        return [r for r in self.outdated_reports if r.is_open]

    @property
    def locations(self) -> list[Location]:
        return [s.location for s in self.service_at_locations]


class SocialMapData(_Model):
    """A whole map (or an import batch): organisations, entries and the categories they use."""

    organizations: list[Organization] = []
    entries: list[Entry] = []


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Pydantic errors → FieldError list with dotted field paths (for RFC 9457 `errors`)."""
    out: list[FieldError] = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        # model-level validators name their field in the message ("field: ...")
        if ":" in msg and " " not in msg.split(":", 1)[0]:
            name, msg = msg.split(":", 1)
            if not path.endswith(name):
                path = f"{path}.{name}" if path else name
            msg = msg.strip()
        out.append(FieldError(f"{prefix}{path}" if path else prefix.rstrip(".") or "__root__", msg))
    return out
