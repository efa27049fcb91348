"""Who may do what: the service's authorization decisions, made on domain objects.

Rules (README "Roles and sharing"):
- A response is seen by the resident it belongs to; by the professional or volunteer who
  filled it in with them (`assisted`); by any other professional or volunteer only once it
  is submitted and the resident granted `share_results` to one of the caller's organisations,
  or, for an invited response, allowed the inviting organisation to see the answers at its
  end (`InviterShare`; for a response with a person, until a `share_results` revocation for
  that organisation newer than the choice). Everyone else gets 404, so the existence of a
  response is not revealed.
- A response is changed (answers, submit) by the resident it belongs to or the staff member
  who assists; an anonymous one only with its resume token.
- A FHIR export by someone else needs `share_with_gp` for one of the caller's organisations
  (an explicit 403: the response itself is visible to them).
- An invitation is seen by the invited resident and by staff of the inviting organisation;
  only its professionals and volunteers invite and list its invitations.
- Drafts of instruments are visible to, and instruments imported, published and retired by,
  the owning organisation's `org_admin`s; shipped instruments are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden, InvalidInput, field_error
from wijkkracht_common.events.identity import ConsentPurpose

from questionnaires.adapters.repositories import ConsentRepository
from questionnaires.domain.instrument import Instrument
from questionnaires.domain.invitation import Invitation
from questionnaires.domain.response_record import InviterShare, ResponseRecord
from questionnaires.service.tokens import token_matches

STAFF_ROLES = ("professional", "volunteer")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Why the caller may see a response: `owner`, `assisted`, `share_results` or
    `share_with_gp` (the consent), and on behalf of which organisation."""

    reason: str
    organisation: str | None = None

    @property
    def is_owner(self) -> bool:
        return self.reason == "owner"


def is_staff_of(principal: Principal, organisation: str | None) -> bool:
    return organisation is not None and bool(
        principal.roles_in(organisation).intersection(STAFF_ROLES)
    )


async def consenting_organisations(
    consents: ConsentRepository, principal: Principal, person_id: str, purpose: ConsentPurpose
) -> list[str]:
    """The caller's staff organisations to which `person_id` granted `purpose`."""
    organisations = principal.organisations_with(*STAFF_ROLES)
    if not organisations:
        return []
    return await consents.granted_organisations(person_id, purpose, organisations)


# ---- responses -------------------------------------------------------------------------------


async def viewer_of(
    consents: ConsentRepository, principal: Principal, record: ResponseRecord
) -> Viewer | None:
    person = record.person_id
    if person is not None and principal.person_id == person:
        return Viewer("owner")
    if record.assisted_by == principal.subject and principal.has_role(*STAFF_ROLES):
        return Viewer("assisted", record.organisation)
    if record.status != "submitted":
        return None
    if person is not None:
        organisations = await consenting_organisations(consents, principal, person, "share_results")
        if organisations:
            return Viewer("share_results", organisations[0])
    share = record.shared_with_inviter
    if share is None or not is_staff_of(principal, share.organisation):
        return None
    if person is not None and await _revoked_since(consents, person, share):
        return None
    # The choice is a `share_results` consent for that organisation (identity records it).
    return Viewer("share_results", share.organisation)


async def _revoked_since(consents: ConsentRepository, person_id: str, share: InviterShare) -> bool:
    """The resident revoked `share_results` for the organisation after choosing to share."""
    state = await consents.state(person_id, share.organisation, "share_results")
    return state is not None and not state.granted and state.at >= share.at


def is_assisting(principal: Principal, record: ResponseRecord) -> bool:
    return record.assisted_by == principal.subject


def may_change(principal: Principal, record: ResponseRecord) -> bool:
    owner = record.person_id is not None and record.person_id == principal.person_id
    return owner or is_assisting(principal, record)


def is_owner(principal: Principal, record: ResponseRecord) -> bool:
    return record.person_id is not None and record.person_id == principal.person_id


def may_change_anonymously(record: ResponseRecord, resume_token: str | None) -> bool:
    return record.person_id is None and token_matches(resume_token, record.resume_hash)


async def fhir_viewer(
    consents: ConsentRepository, principal: Principal, record: ResponseRecord, viewer: Viewer
) -> Viewer:
    """Who exports a response as FHIR: the resident, or staff with `share_with_gp`."""
    if viewer.is_owner:
        return viewer
    organisations = (
        await consenting_organisations(consents, principal, record.person_id, "share_with_gp")
        if record.person_id
        else []
    )
    if not organisations:
        raise Forbidden(
            "Hiervoor is toestemming 'delen met huisarts' nodig. / This needs "
            "the resident's 'share with GP' consent.",
            kind="consent-required",
            consent="share_with_gp",
        )
    return Viewer("share_with_gp", organisations[0])


def assisting_organisation(principal: Principal, organisation: str | None) -> str:
    """The organisation a staff member fills in a resident's response for (assisted mode)."""
    if organisation is None:
        raise InvalidInput(
            "Geef de organisatie op. / Give the organisation.",
            errors=[field_error("organisation", "required in assisted mode")],
        )
    if not is_staff_of(principal, organisation):
        raise Forbidden(
            "Invullen samen met een bewoner kan alleen als professional of "
            "vrijwilliger van deze organisatie. / Assisted mode needs the "
            "professional or volunteer role in this organisation.",
            required_roles=list(STAFF_ROLES),
        )
    return organisation


# ---- invitations -----------------------------------------------------------------------------


def invitation_viewer(
    principal: Principal, invitation: Invitation
) -> Literal["invited", "staff"] | None:
    if invitation.person_id is not None and invitation.person_id == principal.person_id:
        return "invited"
    if is_staff_of(principal, invitation.organisation):
        return "staff"
    return None


def require_inviter(principal: Principal, organisation: str) -> None:
    if not is_staff_of(principal, organisation):
        raise Forbidden(
            "Alleen professionals en vrijwilligers van deze organisatie mogen "
            "uitnodigen. / Only professionals and volunteers of this organisation "
            "may invite.",
            required_roles=list(STAFF_ROLES),
        )


def require_invitation_lister(principal: Principal, organisation: str) -> None:
    if not is_staff_of(principal, organisation):
        raise Forbidden(
            "Geen toegang tot de uitnodigingen van deze organisatie. / No access to "
            "this organisation's invitations.",
            required_roles=list(STAFF_ROLES),
        )


# ---- instruments -----------------------------------------------------------------------------


def instrument_visible(principal: Principal | None, instrument: Instrument) -> bool:
    """Published/retired versions are visible in the tenant; drafts only to their org's admins."""
    if instrument.status != "draft":
        return True
    return principal is not None and "org_admin" in principal.roles_in(instrument.owner or "")


def draft_organisations(principal: Principal) -> list[str]:
    """Whose drafts the caller sees in lists."""
    return principal.organisations_with("org_admin")


def require_org_admin(principal: Principal, organisation: str) -> None:
    if "org_admin" not in principal.roles_in(organisation):
        raise Forbidden(
            "Alleen een beheerder van deze organisatie mag dit. / Only an administrator of "
            "this organisation may do this.",
            required_roles=["org_admin"],
        )


def require_instrument_admin(principal: Principal, instrument: Instrument) -> str:
    """The owning organisation, if the caller administers it (shipped ones: read-only)."""
    if instrument.owner is None:
        raise Forbidden(
            "Meegeleverde vragenlijsten zijn alleen-lezen. / Shipped questionnaires are read-only."
        )
    require_org_admin(principal, instrument.owner)
    return instrument.owner


__all__ = [
    "STAFF_ROLES",
    "Viewer",
    "assisting_organisation",
    "consenting_organisations",
    "draft_organisations",
    "fhir_viewer",
    "instrument_visible",
    "invitation_viewer",
    "is_assisting",
    "is_owner",
    "is_staff_of",
    "may_change",
    "may_change_anonymously",
    "require_instrument_admin",
    "require_invitation_lister",
    "require_inviter",
    "require_org_admin",
    "viewer_of",
]
