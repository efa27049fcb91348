"""Who may do what on the social map.

- `neighbourhood_manager` (tenant-level, held in any organisation) curates everything;
- `org_admin` of organisation X manages the entries whose owner record belongs to X;
- everyone signed in to the tenant may read and report "dit klopt niet meer".
"""

from __future__ import annotations

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden

MANAGER = "neighbourhood_manager"
ORG_ADMIN = "org_admin"

_NOT_YOURS = ("U mag dit aanbod niet beheren. / You may not manage this entry.",)


def is_manager(principal: Principal) -> bool:
    return principal.has_role(MANAGER)


def can_manage(principal: Principal, owner_slug: str | None) -> bool:
    if is_manager(principal):
        return True
    return owner_slug is not None and ORG_ADMIN in principal.roles_in(owner_slug)


def require_manage(principal: Principal, owner_slug: str | None) -> None:
    if not can_manage(principal, owner_slug):
        raise Forbidden(_NOT_YOURS[0], kind="not-entry-owner")


def managed_slugs(principal: Principal) -> list[str] | None:
    """Organisations whose entries the caller manages; None = all (manager)."""
    return None if is_manager(principal) else principal.organisations_with(ORG_ADMIN)


def require_curator(principal: Principal) -> None:
    if not is_manager(principal):
        raise Forbidden(
            "Alleen een wijkbeheerder mag dit. / Only a neighbourhood manager may do this.",
            kind="not-neighbourhood-manager",
        )
