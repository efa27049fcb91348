"""Who may see or change what: every authorization decision of the service's use cases.

Routes only check the coarse roles a token carries (`require_roles`); the decisions that
depend on the organisation asked for or on the resident's consent are made here, on the
verified principal and the domain's consent records.
"""

from __future__ import annotations

from collections.abc import Iterable

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden, InvalidInput, NotFound, field_error

from effect_measurement.domain.consents import sharing_organisations

NO_ACCESS = "Geen toegang tot deze organisatie. / No access to this organisation."
RESIDENTS_ONLY = "Alleen voor inwoners. / Residents only."
#: Who may read published reports (analysts, organisation admins, tenant admins).
REPORT_ROLES = ("analyst", "org_admin", "tenant_admin")


def resident(principal: Principal) -> str:
    """The resident a caller is (their own trajectories); clients and staff-only tokens are
    refused."""
    if principal.person_id is None:
        raise Forbidden(RESIDENTS_ONLY)
    return principal.person_id


def visible_organisations(principal: Principal, sharing: Iterable[str]) -> set[str]:
    """Organisations whose trajectories of a resident the caller may see: where the caller is
    a professional AND the resident shares results with it (`sharing`)."""
    mine = set(principal.organisations_with("professional"))
    return sharing_organisations(sharing, mine) if mine else set()


def report_scope(principal: Principal, organisation: str | None) -> str | None:
    """The organisation a caller's view of a report is limited to (None: tenant-wide).

    Analysts and tenant admins see the whole report; an org admin only their own slice."""
    if principal.has_role("analyst", "tenant_admin"):
        return organisation
    mine = principal.organisations_with("org_admin")
    if organisation is None and len(mine) == 1:
        return mine[0]
    if organisation not in mine:
        raise Forbidden(NO_ACCESS)
    return organisation


def require_org_admin(principal: Principal, organisation: str) -> None:
    """An organisation's own settings (benchmark naming) are its admins' to change."""
    if organisation not in principal.organisations_with("org_admin"):
        raise Forbidden(NO_ACCESS)


#: Who may record an intervention about a resident, for one of their organisations.
RECORDER_ROLES = ("professional", "org_admin")
PERSON_NOT_FOUND = "Inwoner niet gevonden. / Resident not found."
#: A person id nobody has: all zeros (the nil UUID and such) is never accepted.
_ZEROS = frozenset("0-")


def recording_organisation(principal: Principal, requested: str | None) -> str:
    """The organisation an intervention is recorded for: the one asked for (the caller must
    be a professional or admin there), or the caller's only such organisation."""
    mine = principal.organisations_with(*RECORDER_ROLES)
    if requested is None:
        if len(mine) == 1:
            return mine[0]
        raise InvalidInput(
            "Kies de organisatie. / Choose the organisation.",
            errors=[field_error("organisation", "required: you work for several")],
        )
    if requested not in mine:
        raise Forbidden(NO_ACCESS)
    return requested


def require_real_person_id(person: str) -> None:
    """An id made of zeros names nobody (a placeholder, a client's default): refused."""
    if set(person) <= _ZEROS:
        raise InvalidInput(
            "Geen geldige persoon. / Not a valid person.",
            errors=[field_error("person_id", "an id of zeros names nobody")],
        )


def require_known_with_consent(known: bool, consented: bool) -> None:
    """A write about a resident needs the resident (known from identity's events) and their
    `share_results` consent for the organisation; 404 for either, so a caller cannot tell
    whether a person exists without their consent. No role implies that consent here."""
    if not (known and consented):
        raise NotFound(PERSON_NOT_FOUND)
