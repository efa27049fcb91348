"""Request and response bodies of identity's JSON API (snake_case)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from identity.domain.access_log import AccessLine
from identity.domain.api_clients import ApiClient
from identity.domain.caseload import CaseloadEntry
from identity.domain.consent import ConsentLedger, ConsentPurpose
from identity.domain.erasure import ErasureStatus
from identity.domain.exports import ExportJob
from identity.domain.memberships import Membership
from identity.domain.people import HouseholdType, Person
from identity.domain.roles import Role
from identity.domain.signing_keys import DEFAULT_ALG, SigningAlg
from identity.domain.tenancy import Organisation, OrganisationKind

SLUG = r"^[a-z][a-z0-9-]{1,30}$"
PC4 = r"^[1-9][0-9]{3}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TenantIn(_In):
    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)
    k_anonymity: int = Field(default=10, ge=2, le=1000)


class OrganisationIn(_In):
    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)
    kind: OrganisationKind = OrganisationKind.WELFARE


class TeamIn(_In):
    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)


class MembershipIn(_In):
    organisation: str = Field(pattern=SLUG)
    roles: list[Role] = Field(min_length=1, max_length=8)


class PersonIn(_In):
    """A staff account (or a resident entered by an admin) with an e-mail login."""

    display_name: str = Field(min_length=1, max_length=120)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    memberships: list[MembershipIn] = Field(min_length=1, max_length=20)


class RolesIn(_In):
    roles: list[Role] = Field(max_length=8, description="empty list removes the membership")
    team: str | None = Field(default=None, pattern=SLUG)


class RegistrationIn(_In):
    """Self-registration of a resident through a member organisation's app (its client id)."""

    client_id: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=120)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    pc4: str | None = Field(default=None, pattern=PC4)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    household_type: HouseholdType | None = None


class AssistedRegistrationIn(_In):
    organisation: str = Field(pattern=SLUG)
    display_name: str = Field(min_length=1, max_length=120)
    pc4: str | None = Field(default=None, pattern=PC4)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    household_type: HouseholdType | None = None


class ProfilePatch(_In):
    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    pc4: str | None = Field(default=None, pattern=PC4)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    household_type: HouseholdType | None = None


class PasswordChange(_In):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class ConsentIn(_In):
    organisation: str = Field(pattern=SLUG)
    purpose: ConsentPurpose


class ExportRequestIn(_In):
    """An admin starts an export on the resident's written request: say which (required)."""

    reason: str = Field(
        min_length=3,
        max_length=500,
        description="the resident's written request, e.g. 'brief van 3 maart 2026'",
    )


class ClientIn(_In):
    name: str = Field(min_length=1, max_length=120)
    client_type: str = Field(pattern=r"^(public|confidential)$")
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile"], max_length=30)
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    allowed_origins: list[str] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="where RP-initiated logout may return to (exact strings)",
    )
    id_token_signed_response_alg: SigningAlg = Field(
        default=DEFAULT_ALG, description="the algorithm of this client's ID tokens"
    )


class ClientPatch(_In):
    """Only the given fields change; `disabled: true` makes the token endpoint refuse it
    and every service refuse the tokens issued through it before."""

    disabled: bool | None = None
    name: str | None = Field(default=None, min_length=1, max_length=120)
    redirect_uris: list[str] | None = Field(default=None, max_length=20)
    allowed_origins: list[str] | None = Field(default=None, max_length=20)
    post_logout_redirect_uris: list[str] | None = Field(default=None, max_length=20)
    id_token_signed_response_alg: SigningAlg | None = None


# ---- output --------------------------------------------------------------------------------


def organisation_out(org: Organisation) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "kind": org.kind.value,
        "created_at": org.created_at.isoformat(),
    }


def memberships_out(memberships: list[Membership]) -> list[dict[str, Any]]:
    return [
        {"organisation": m.organisation, "roles": sorted(r.value for r in m.roles), "team": m.team}
        for m in sorted(memberships, key=lambda m: m.organisation)
    ]


def person_out(
    person: Person,
    memberships: list[Membership],
    *,
    with_email: bool = True,
    erasure_requested_at: datetime | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": person.id,
        "display_name": person.display_name,
        "status": person.status.value,
        "pc4": person.pc4,
        "neighbourhood_code": person.neighbourhood_code,
        "birth_year": person.birth_year,
        "household_type": None if person.household_type is None else person.household_type.value,
        "has_password": person.password_hash is not None,
        "created_at": person.created_at.isoformat(),
        "memberships": memberships_out(memberships),
    }
    if with_email:
        out["email"] = person.email
    if erasure_requested_at is not None:
        out["erasure_requested_at"] = erasure_requested_at.isoformat()
    return out


def client_out(client: ApiClient, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "client_id": client.client_id,
        "organisation": client.organisation,
        "name": client.name,
        "client_type": client.client_type.value,
        "scopes": list(client.scopes),
        "grant_types": [g.value for g in client.grant_types],
        "redirect_uris": list(client.redirect_uris),
        "allowed_origins": list(client.allowed_origins),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "disabled": bool(client.disabled),
        "created_at": client.created_at.isoformat(),
    }
    if secret is not None:
        out["client_secret"] = secret  # returned once, never stored in plain text
    return out


def consents_out(ledger: ConsentLedger, organisation: str | None = None) -> dict[str, Any]:
    """The resident's consents; with `organisation` only that organisation's (what a staff
    member of it may see: not which other organisations the resident trusts)."""
    return {
        "current": [
            {"organisation": org, "purposes": sorted(p.value for p in purposes)}
            for org, purposes in ledger.current().items()
            if organisation in (None, org)
        ],
        "history": [
            {
                "organisation": e.organisation,
                "purpose": e.purpose.value,
                "action": e.action.value,
                "at": e.at.isoformat(),
                "by": e.by,
            }
            for e in reversed(ledger.entries)
            if organisation in (None, e.organisation)
        ],
    }


def caseload_out(entry: CaseloadEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "display_name": entry.display_name,
        "neighbourhood_code": entry.neighbourhood_code,
        "purposes": [p.value for p in entry.purposes],
        "since": entry.since.isoformat(),
    }


def erasure_out(status: ErasureStatus, person_id: str) -> dict[str, Any]:
    """`status`: pending (services erasing) -> purging (identity's data gone, the event
    streams being cleaned) -> completed (nothing left that names the person)."""
    return {
        "person_id": person_id,
        "status": status.phase,
        "requested_at": status.requested_at.isoformat(),
        "expected_services": list(status.expected_services),
        "pending_services": list(status.pending_services),
        "confirmations": [
            {
                "service": c.service,
                "confirmed_at": c.confirmed_at.isoformat(),
                "erased": c.erased,
                "anonymised": c.anonymised,
            }
            for c in status.confirmations
        ],
        "completed_at": None if status.completed_at is None else status.completed_at.isoformat(),
        "reminders": status.reminders,
        "last_asked_at": None if status.last_asked_at is None else status.last_asked_at.isoformat(),
        "purged_at": None if status.purged_at is None else status.purged_at.isoformat(),
    }


def export_out(job: ExportJob, now: datetime, archive_url: str | None) -> dict[str, Any]:
    state = job.state(now)
    return {
        "id": job.id,
        "status": state.value,
        "requested_at": job.requested_at.isoformat(),
        "requested_by": "admin" if job.by_admin else "self",
        "reason": job.reason,
        "expected_services": list(job.expected_services),
        "pending_services": list(job.pending_services),
        "parts": [
            {"service": p.service, "counts": p.counts, "received_at": p.received_at.isoformat()}
            for p in job.parts
        ],
        "ready_at": None if job.ready_at is None else job.ready_at.isoformat(),
        "expires_at": job.expires_at().isoformat(),
        "archive_url": archive_url if state.value == "ready" else None,
    }


def access_line_out(line: AccessLine) -> dict[str, Any]:
    r = line.record
    return {
        "id": r.id,
        "at": r.at.isoformat(),
        "service": r.service,
        "actor": r.actor,
        "on_behalf_of": r.on_behalf_of,
        "action": r.action,
        "resource": r.resource,
        "reason": r.reason,
        # In words, resolved now from identity's own data (Dutch, then English).
        "who": line.who.nl,
        "who_en": line.who.en,
        "organisation": None
        if r.on_behalf_of is None
        else {"slug": r.on_behalf_of, "name": line.organisation_name},
        "what": line.what.nl,
        "what_en": line.what.en,
        "why": line.why.nl,
        "why_en": line.why.en,
    }
