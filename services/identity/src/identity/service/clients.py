"""API clients of member organisations: public (PKCE) and confidential (secret shown once)."""

from __future__ import annotations

from collections.abc import Sequence

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden

from identity.adapters import repositories as repo
from identity.domain.api_clients import (
    ApiClient,
    GrantType,
    new_confidential_client,
    new_public_client,
)
from identity.domain.hashing import sha256_hex
from identity.domain.texts import Text
from identity.service.context import Identity
from identity.service.directory import require_organisation
from identity.service.people import may_manage
from identity.service.problems import conflict

NAME_TAKEN = Text("Deze client-id is al in gebruik.", "This client id is already taken.")


async def create_client(
    ctx: Identity,
    tenant: str,
    *,
    organisation: str,
    name: str,
    confidential: bool,
    scopes: Sequence[str],
    redirect_uris: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    grant_types: Sequence[GrantType] | None = None,
    fixed_id: str | None = None,
    fixed_secret: str | None = None,
) -> tuple[ApiClient, str | None]:
    """Returns the client and, for a confidential one, its plain secret (shown once).

    `fixed_id` (CLI / demo seed only) registers a platform-wide name such as `demo-frontend`
    in the platform database, so the token endpoint can find its tenant without a prefix.
    """
    db = await ctx.tenant_db(tenant)
    await require_organisation(db, organisation)
    now = ctx.now()
    secret: str | None = None
    if confidential:
        secret, client = new_confidential_client(
            tenant=tenant, organisation=organisation, name=name, scopes=scopes, now=now,
            source=ctx.random,
            grant_types=grant_types or (GrantType.CLIENT_CREDENTIALS,),
            redirect_uris=redirect_uris,
        )
    else:
        client = new_public_client(
            tenant=tenant, organisation=organisation, name=name, redirect_uris=redirect_uris,
            allowed_origins=allowed_origins, scopes=scopes, now=now, source=ctx.random,
        )
    if fixed_secret is not None and confidential:
        secret = fixed_secret
    if fixed_id is not None or fixed_secret is not None:
        client = ApiClient.model_validate(
            client.model_dump()
            | ({"client_id": fixed_id} if fixed_id else {})
            | ({"secret_hash": sha256_hex(fixed_secret)} if fixed_secret else {})
        )
    if fixed_id is not None and not await repo.claim_client_name(
        await ctx.platform_db(), fixed_id, tenant
    ):
        raise conflict(NAME_TAKEN)
    await repo.insert_client(db, client, session=None)
    if client.allowed_origins:
        await repo.add_allowed_origins(await ctx.platform_db(), client.allowed_origins,
                                       client.client_id)
    return client, secret


def require_manager(principal: Principal, organisation: str) -> None:
    if not may_manage(principal, organisation):
        raise Forbidden("U mag deze organisatie niet beheren. / You may not manage this "
                        "organisation.")
