"""API clients of member organisations: public (PKCE) and confidential (secret shown once)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.observability import get_logger
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.domain.api_clients import (
    ApiClient,
    GrantType,
    new_confidential_client,
    new_public_client,
)
from identity.domain.hashing import sha256_hex
from identity.domain.randomness import token_urlsafe
from identity.domain.signing_keys import DEFAULT_ALG, SigningAlg
from identity.domain.texts import DomainError, Text
from identity.service.context import Db, Identity
from identity.service.directory import require_organisation
from identity.service.permissions import require_manager
from identity.service.problems import conflict
from identity.service.revocations import client_disabled

log = get_logger(__name__)

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
    post_logout_redirect_uris: Sequence[str] = (),
    id_token_signed_response_alg: SigningAlg = DEFAULT_ALG,
) -> tuple[ApiClient, str | None]:
    """Returns the client and, for a confidential one, its plain secret (shown once).

    `fixed_id` (CLI / demo seed only) registers a platform-wide name such as `demo-frontend`
    in the platform database, so the token endpoint can find its tenant without a prefix.
    """
    repos = await ctx.tenant(tenant)
    await require_organisation(repos, organisation)
    now = ctx.now()
    secret: str | None = None
    if confidential:
        secret, client = new_confidential_client(
            tenant=tenant,
            organisation=organisation,
            name=name,
            scopes=scopes,
            now=now,
            source=ctx.random,
            grant_types=grant_types or (GrantType.CLIENT_CREDENTIALS,),
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris,
            id_token_signed_response_alg=id_token_signed_response_alg,
        )
    else:
        client = new_public_client(
            tenant=tenant,
            organisation=organisation,
            name=name,
            redirect_uris=redirect_uris,
            allowed_origins=allowed_origins,
            scopes=scopes,
            now=now,
            source=ctx.random,
            post_logout_redirect_uris=post_logout_redirect_uris,
            id_token_signed_response_alg=id_token_signed_response_alg,
        )
    if fixed_secret is not None and confidential:
        secret = fixed_secret
    if fixed_id is not None or fixed_secret is not None:
        client = ApiClient.model_validate(
            client.model_dump()
            | ({"client_id": fixed_id} if fixed_id else {})
            | ({"secret_hash": sha256_hex(fixed_secret)} if fixed_secret else {})
        )
    if fixed_id is not None and not await (await ctx.platform()).tenants.claim_client_name(
        fixed_id, tenant
    ):
        raise conflict(NAME_TAKEN)
    await repos.clients.add(client)
    if client.allowed_origins:
        await (await ctx.platform()).origins.add(client.allowed_origins, client.client_id)
    return client, secret


async def ensure_named_client(
    ctx: Identity,
    tenant: str,
    *,
    client_id: str,
    organisation: str,
    name: str,
    scopes: Sequence[str],
    grant_types: Sequence[GrantType],
    secret: str,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    actor: str,
) -> str:
    """A confidential client under a platform-wide name (demo seed): registered when missing,
    else brought up to date — secret, redirect and post-logout URIs, grants, scopes — so a
    new secret or public URL on the next start takes effect. "created" | "updated" | "same"."""
    registry = (await ctx.platform()).tenants
    if await registry.tenant_of_client_name(client_id) is None:
        await create_client(
            ctx,
            tenant,
            organisation=organisation,
            name=name,
            confidential=True,
            scopes=scopes,
            grant_types=grant_types,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris,
            fixed_id=client_id,
            fixed_secret=secret,
        )
        return "created"
    stored = await (await ctx.tenant(tenant)).clients.get(client_id)
    if stored is None or stored.organisation != organisation:
        raise conflict(NAME_TAKEN)  # the name belongs to another tenant or organisation
    wanted = ApiClient.model_validate(
        stored.model_dump()
        | {
            "name": name,
            "scopes": tuple(scopes),
            "grant_types": tuple(grant_types),
            "redirect_uris": tuple(redirect_uris),
            "post_logout_redirect_uris": tuple(post_logout_redirect_uris),
            "secret_hash": sha256_hex(secret),
            "disabled": False,
        }
    )
    if wanted == stored:
        return "same"
    await _save(ctx, wanted, actor=actor)
    log.info("named client updated", client_id=client_id)
    return "updated"


async def check_manager_of(ctx: Identity, principal: Principal, organisation: str) -> None:
    """The organisation exists in the caller's tenant (else 404) and the caller manages it."""
    await require_organisation(await ctx.tenant(principal.tenant), organisation)
    require_manager(principal, organisation)


# ---- management: disable/enable, secret rotation, redirect URIs and origins -------------------

CLIENT_NOT_FOUND = "Niet gevonden. / Not found."
NOT_CONFIDENTIAL = Text(
    "Alleen een vertrouwelijke client heeft een geheim.", "Only a confidential client has a secret."
)


async def managed_client(
    ctx: Identity, principal: Principal, organisation: str, client_id: str
) -> ApiClient:
    """A client of `organisation` in the caller's tenant that the caller manages; anything
    else (another tenant's or organisation's client) is 404."""
    repos = await ctx.tenant(principal.tenant)
    await require_organisation(repos, organisation)
    require_manager(principal, organisation)
    client = await repos.clients.get(client_id)
    if client is None or client.organisation != organisation or client.tenant != principal.tenant:
        raise NotFound(CLIENT_NOT_FOUND)
    return client


def forget(ctx: Identity, client_id: str) -> None:
    """Evict the token endpoint's cached copy in THIS process. Other replicas drop theirs when
    the `client_disabled` event reaches them (`oauth.load_client`); a rotated secret reaches
    them within `client_cache_seconds`."""
    ctx.client_cache.pop(client_id, None)


async def _save(ctx: Identity, client: ApiClient, *, actor: str) -> ApiClient:
    """Replace the stored client; one that becomes disabled is announced in the same
    transaction (`client_disabled`), so every service refuses its earlier tokens too."""
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
        stored = ctx.within(db, session).clients
        before = await stored.get(client.client_id)
        await stored.replace(client)
        if not client.disabled or (before is not None and before.disabled):
            return None, []
        event = client_disabled(
            client.tenant,
            client.client_id,
            organisation=client.organisation,
            actor=actor,
            now=now,
        )
        return None, [event]

    await ctx.runtime.commit(client.tenant, work)
    forget(ctx, client.client_id)
    return client


async def update_client(
    ctx: Identity,
    principal: Principal,
    organisation: str,
    client_id: str,
    *,
    changes: Mapping[str, Any],
) -> ApiClient:
    """PATCH: `disabled`, `name`, `redirect_uris`, `allowed_origins`,
    `post_logout_redirect_uris`, `id_token_signed_response_alg` (validated by the model:
    https only, exact strings, at least one redirect URI for the code flow)."""
    client = await managed_client(ctx, principal, organisation, client_id)
    allowed = {
        "disabled",
        "name",
        "redirect_uris",
        "allowed_origins",
        "post_logout_redirect_uris",
        "id_token_signed_response_alg",
    }
    update = {k: v for k, v in changes.items() if k in allowed}
    if "allowed_origins" in update and not client.is_public and update["allowed_origins"]:
        raise DomainError(
            Text(
                "Alleen een publieke (browser)client heeft origins.",
                "Only a public (browser) client has origins.",
            ),
            "allowed_origins",
        )
    updated = ApiClient.model_validate(client.model_dump() | update)
    await _save(ctx, updated, actor=principal.subject)
    if set(updated.allowed_origins) != set(client.allowed_origins):
        await (await ctx.platform()).origins.move(
            client.client_id, before=client.allowed_origins, after=updated.allowed_origins
        )
    log.info(
        "api client updated", client_id=client_id, fields=sorted(update), actor=principal.subject
    )
    return updated


async def rotate_secret(
    ctx: Identity, principal: Principal, organisation: str, client_id: str
) -> tuple[ApiClient, str]:
    """A new secret (returned once); the old one stops working at once in this process."""
    client = await managed_client(ctx, principal, organisation, client_id)
    if client.is_public:
        raise conflict(NOT_CONFIDENTIAL)
    secret = token_urlsafe(ctx.random, 32)
    rotated = client.model_copy(update={"secret_hash": sha256_hex(secret)})
    await _save(ctx, rotated, actor=principal.subject)
    log.info("api client secret rotated", client_id=client_id, actor=principal.subject)
    return rotated, secret


async def list_clients(
    ctx: Identity, principal: Principal, organisation: str, *, limit: int, cursor: str | None
) -> tuple[list[ApiClient], str | None]:
    repos = await ctx.tenant(principal.tenant)
    await require_organisation(repos, organisation)
    require_manager(principal, organisation)
    return await repos.clients.page_of_organisation(organisation, limit=limit, cursor=cursor)
