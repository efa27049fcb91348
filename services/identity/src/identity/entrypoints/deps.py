"""FastAPI dependencies shared by identity's routers.

Every operation declares who may call it (`wijkkracht_common.auth`): `LivePerson` (and the
role checks, which imply it) where a person's own data, staff work or a write is concerned;
`LiveCaller` where a machine client (client credentials) may read reference data too; no
principal for the public OAuth/OpenID endpoints.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from wijkkracht_common.auth import MachinePrincipal, PersonPrincipal, Principal
from wijkkracht_common.errors import Forbidden, Unauthorized

from identity.domain.roles import Role
from identity.service.context import Identity
from identity.service.oauth import is_revoked


async def get_identity(request: Request) -> Identity:
    """`async`: FastAPI runs a plain `def` dependency in a worker thread (a thread hop per
    request on every route)."""
    ctx: Identity = request.app.state.identity
    return ctx


Ctx = Annotated[Identity, Depends(get_identity)]


async def _not_revoked(principal: Principal, ctx: Identity) -> Principal:
    """The verified token, additionally checked against identity's deny-list: a token
    revoked here is refused from that request on (every service, identity's verifier
    included, refuses it within seconds through `access_token_revoked`)."""
    if await is_revoked(ctx, principal):
        raise Unauthorized("Ongeldig toegangstoken. / Invalid access token.")
    return principal


async def live_person(principal: PersonPrincipal, ctx: Ctx) -> Principal:
    """A person must be calling (a machine token gets 403 `person-required`)."""
    return await _not_revoked(principal, ctx)


async def live_caller(principal: MachinePrincipal, ctx: Ctx) -> Principal:
    """A person or a machine client of the tenant (reference data)."""
    return await _not_revoked(principal, ctx)


LivePerson = Annotated[Principal, Depends(live_person)]
LiveCaller = Annotated[Principal, Depends(live_caller)]


def role_check(*roles: Role) -> object:
    async def check(principal: LivePerson) -> Principal:
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
