"""Token introspection (RFC 7662) for confidential clients: is this token active, and what
does it say? Decided by `domain.introspection`; this module loads what it needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity.domain.introspection import (
    INACTIVE,
    access_token_claims_of,
    describe_access_token,
    describe_refresh_token,
)
from identity.domain.oauth_errors import OAuthError, invalid_client, invalid_request
from identity.domain.oauth_records import lookup_hash, tenant_of_token
from identity.domain.token_grants import authenticate_client
from identity.service.context import Identity
from identity.service.oauth import TokenResult, client_credentials_from, load_client


async def introspect(
    ctx: Identity, form: Mapping[str, str], authorization: str | None
) -> TokenResult:
    """200 with `{"active": ...}` for any token once a confidential client authenticated;
    401 `invalid_client` otherwise (public clients included: they cannot authenticate)."""
    try:
        client_id, secret, _ = client_credentials_from(form, authorization)
        client = authenticate_client(
            await load_client(ctx, client_id) if client_id else None,
            client_id=client_id or "",
            client_secret=secret,
        )
        if client.is_public:
            raise invalid_client("introspection is for confidential clients")
    except OAuthError as error:
        return TokenResult(error.status_code, error.body(), True)
    token = form.get("token")
    if not token:
        missing = invalid_request("token missing")
        return TokenResult(missing.status_code, missing.body())
    # `token_type_hint` may be ignored (RFC 7662 §2.1): a refresh token is found by its
    # hash, anything else is tried as an access token.
    now = ctx.now()
    if tenant_of_token(token) == client.tenant:
        record = await (await ctx.tenant(client.tenant)).grants.get_refresh(lookup_hash(token))
        if record is not None:
            answer = describe_refresh_token(client, token, record, policy=ctx.policy, now=now)
            return TokenResult(200, answer)
    claims = access_token_claims_of(token, await ctx.keys.jwks(), policy=ctx.policy, now=now)
    if claims is None or claims.get("tenant") != client.tenant:
        return TokenResult(200, dict(INACTIVE))
    answer = describe_access_token(client, claims, revoked=await _revoked(ctx, claims))
    return TokenResult(200, answer)


async def _revoked(ctx: Identity, claims: Mapping[str, Any]) -> bool:
    """On identity's deny-list, or refused by the revocations every service honours."""
    jti = claims.get("jti")
    tenant = str(claims["tenant"])
    if isinstance(jti, str) and await (await ctx.tenant(tenant)).grants.is_denied(jti):
        return True
    iat = claims.get("iat")
    client_id = claims.get("client_id")
    return ctx.runtime.revocations.refuses(
        tenant=tenant,
        subject=str(claims.get("sub")),
        client_id=client_id if isinstance(client_id, str) else None,
        token_id=jti if isinstance(jti, str) else None,
        issued_at=float(iat) if isinstance(iat, int | float) else None,
    )
