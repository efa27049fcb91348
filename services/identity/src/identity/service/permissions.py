"""Who may manage organisations, hand out roles and see people: decided on the verified
token (`Principal`) and domain objects, never on documents."""

from __future__ import annotations

from collections.abc import Iterable

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden

from identity.domain.roles import Role

MAY_NOT_MANAGE = "U mag deze organisatie niet beheren. / You may not manage this organisation."
MAY_NOT_GRANT = "U mag deze rol niet toekennen. / You may not grant this role."


def may_manage(principal: Principal, organisation: str) -> bool:
    return principal.has_role(Role.TENANT_ADMIN) or Role.ORG_ADMIN in principal.roles_in(
        organisation
    )


def may_grant(principal: Principal, roles: Iterable[Role]) -> bool:
    """Only a tenant admin hands out tenant-wide roles; platform_operator never via this API."""
    wanted = set(roles)
    if Role.PLATFORM_OPERATOR in wanted:
        return False
    if wanted & {Role.TENANT_ADMIN, Role.NEIGHBOURHOOD_MANAGER}:
        return principal.has_role(Role.TENANT_ADMIN)
    return True


def require_manager(principal: Principal, organisation: str) -> None:
    if not may_manage(principal, organisation):
        raise Forbidden(MAY_NOT_MANAGE)


def require_grant(principal: Principal, roles: Iterable[Role]) -> None:
    if not may_grant(principal, roles):
        raise Forbidden(MAY_NOT_GRANT)


def acting_organisation(principal: Principal, *roles: Role) -> str | None:
    """The organisation a staff member acts for (the access log's `on_behalf_of`): the
    first of theirs in which they hold one of `roles`, else their first organisation."""
    held = principal.organisations_with(*roles) or sorted(principal.orgs)
    return held[0] if held else None


def may_print_login_code(principal: Principal, organisations: Iterable[str]) -> bool:
    """A professional or org admin of one of the resident's organisations."""
    return any(principal.roles_in(o) & {Role.PROFESSIONAL, Role.ORG_ADMIN} for o in organisations)
