"""FastAPI dependencies shared by identity's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from wijkkracht_common.auth import CurrentPrincipal, Principal
from wijkkracht_common.errors import Forbidden, Unauthorized

from identity.domain.roles import Role
from identity.service.context import Identity
from identity.service.oauth import is_revoked


def get_identity(request: Request) -> Identity:
    ctx: Identity = request.app.state.identity
    return ctx


Ctx = Annotated[Identity, Depends(get_identity)]


async def live_principal(principal: CurrentPrincipal, ctx: Ctx) -> Principal:
    """The verified token, additionally checked against identity's revocation list (other
    services rely on the 15-minute lifetime instead)."""
    if await is_revoked(ctx, principal):
        raise Unauthorized("Ongeldig toegangstoken. / Invalid access token.")
    return principal


LivePrincipal = Annotated[Principal, Depends(live_principal)]


def role_check(*roles: Role) -> object:
    async def check(principal: LivePrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(
                "U heeft hiervoor niet de juiste rol. / You do not have the required role.",
                required_roles=sorted(r.value for r in roles),
            )
        return principal

    return Depends(check)


TenantAdmin = Annotated[Principal, role_check(Role.TENANT_ADMIN)]
Manager = Annotated[Principal, role_check(Role.TENANT_ADMIN, Role.ORG_ADMIN)]
PlatformOperator = Annotated[Principal, role_check(Role.PLATFORM_OPERATOR)]
Professional = Annotated[Principal, role_check(Role.PROFESSIONAL, Role.ORG_ADMIN)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
