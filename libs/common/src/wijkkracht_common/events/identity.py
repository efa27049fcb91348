"""Events produced by the identity service (v1). Identifiers and facts only: no names, e-mails."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from wijkkracht_common.events.envelope import EventData

ConsentPurpose = Literal[
    "share_results", "share_learning_progress", "share_with_gp", "research", "marketplace_broker"
]
AgeBand = Literal["0-17", "18-26", "27-44", "45-64", "65-79", "80+"]
HouseholdType = Literal[
    "single", "couple", "couple_with_children", "single_parent", "other", "unknown"
]


class _IdentityEvent(EventData):
    producer: ClassVar[str] = "identity"


class TenantCreated(_IdentityEvent):
    """A regional consortium (tenant) was created; carries its k-anonymity threshold."""

    event_name: ClassVar[str] = "tenant_created"
    tenant_slug: str
    k_anonymity: int = 10


class OrganisationCreated(_IdentityEvent):
    """A member organisation was added to the tenant."""

    event_name: ClassVar[str] = "organisation_created"
    organisation_slug: str
    kind: str = "welfare"


class PersonRegistered(_IdentityEvent):
    """A person registered (self or assisted); coarse profile only, no name or e-mail."""

    event_name: ClassVar[str] = "person_registered"
    person_id: str
    kind: Literal["resident", "staff"] = "resident"
    assisted: bool = False
    pc4: str | None = Field(default=None, pattern=r"^[1-9][0-9]{3}$")
    neighbourhood_code: str | None = None
    age_band: AgeBand | None = None
    household_type: HouseholdType | None = None


class PersonProfileUpdated(_IdentityEvent):
    """The coarse profile used for grouping changed (never names or addresses)."""

    event_name: ClassVar[str] = "person_profile_updated"
    person_id: str
    pc4: str | None = Field(default=None, pattern=r"^[1-9][0-9]{3}$")
    neighbourhood_code: str | None = None
    age_band: AgeBand | None = None
    household_type: HouseholdType | None = None


class MembershipChanged(_IdentityEvent):
    """A person's roles in an organisation changed (empty list: membership ended)."""

    event_name: ClassVar[str] = "membership_changed"
    person_id: str
    organisation_slug: str
    roles: list[str]


class ConsentGranted(_IdentityEvent):
    """A resident allowed an organisation to use their data for one purpose."""

    event_name: ClassVar[str] = "consent_granted"
    person_id: str
    organisation_slug: str
    purpose: ConsentPurpose
    #: The consent's own version (its ledger position for this person, organisation and
    #: purpose): consumers keep the newest (`wijkkracht_common.consent`). 0: not given.
    version: int = Field(default=0, ge=0)


class ConsentRevoked(_IdentityEvent):
    """A resident withdrew a consent; consumers must stop sharing at once."""

    event_name: ClassVar[str] = "consent_revoked"
    person_id: str
    organisation_slug: str
    purpose: ConsentPurpose
    #: See ConsentGranted.version.
    version: int = Field(default=0, ge=0)


class PersonErasureRequested(_IdentityEvent):
    """A resident asked for erasure: every service erases or anonymises and reports back."""

    event_name: ClassVar[str] = "person_erasure_requested"
    person_id: str


class PersonExportRequested(_IdentityEvent):
    """A resident (or an admin on their written request) asked for all their data: every
    service contributes its part (`wijkkracht_common.export`)."""

    event_name: ClassVar[str] = "person_export_requested"
    export_id: str
    person_id: str


class PersonErasureCompleted(_IdentityEvent):
    """All expected services confirmed an erasure; identity erased its own data too.

    The person id stays as a tombstone (no name, e-mail, PC4 or password remain)."""

    event_name: ClassVar[str] = "person_erasure_completed"
    person_id: str
    services: list[str] = []


class AccessTokenRevoked(_IdentityEvent):
    """An access token was revoked (RFC 7009, logout): every service refuses it from now on,
    not only when it expires (`wijkkracht_common.revocation`)."""

    event_name: ClassVar[str] = "access_token_revoked"
    token_id: str = Field(description="the token's jti")
    expires_at: datetime


class PersonDisabled(_IdentityEvent):
    """A person was disabled or erased: every service refuses the tokens issued to them before
    this event's time."""

    event_name: ClassVar[str] = "person_disabled"
    person_id: str


class ClientDisabled(_IdentityEvent):
    """An API client was disabled: every service refuses its tokens issued before this event's
    time."""

    event_name: ClassVar[str] = "client_disabled"
    client_id: str


class NeighbourhoodsImported(_IdentityEvent):
    """The tenant's neighbourhood table (public reference data, no personal data)."""

    event_name: ClassVar[str] = "neighbourhoods_imported"
    neighbourhoods: list[dict[str, object]]
