"""Token introspection (RFC 7662), pure: what the endpoint answers for one presented token.

Only confidential clients may ask (a resource server authenticates; a public client cannot
keep a secret). Any token that is not valid for the asking client is answered
`{"active": false}` and nothing more, whatever the reason (unknown, expired, revoked, of
another tenant, a refresh token of another client), so the endpoint reveals nothing about
tokens the client may not see. Access tokens of the client's tenant may be introspected
by any of its confidential clients (that is what a resource server does); a refresh token
only by the client it was issued to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from identity.domain.api_clients import ApiClient
from identity.domain.jwt_tokens import TokenInvalid, epoch, verify
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.oauth_records import RefreshToken, lookup_hash
from identity.domain.scopes import format_scope
from identity.domain.token_grants import ACCESS_TOKEN_TYP

INACTIVE: dict[str, Any] = {"active": False}


def access_token_claims_of(
    token: str, jwks: Mapping[str, Any], *, policy: OAuthPolicy, now: datetime
) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token of this issuer; None otherwise."""
    try:
        claims = verify(
            token,
            jwks,
            issuer=policy.issuer,
            audience=policy.audience,
            now=now,
            typ=ACCESS_TOKEN_TYP,
        )
    except TokenInvalid:
        return None
    return claims


def describe_access_token(
    client: ApiClient, claims: Mapping[str, Any] | None, *, revoked: bool
) -> dict[str, Any]:
    """`claims` from `access_token_claims_of`; `revoked`: on the deny-list, or refused by
    the revocations every service honours (a disabled person or client)."""
    if claims is None or revoked or claims.get("tenant") != client.tenant:
        return dict(INACTIVE)
    answer: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "scope": claims.get("scope", ""),
        "client_id": claims.get("client_id"),
        "sub": claims.get("sub"),
        "aud": claims.get("aud"),
        "iss": claims.get("iss"),
        "exp": claims.get("exp"),
        "iat": claims.get("iat"),
        "nbf": claims.get("nbf"),
        "jti": claims.get("jti"),
        "tenant": claims.get("tenant"),
        "roles": claims.get("roles", []),
        "orgs": claims.get("orgs", {}),
    }
    return {k: v for k, v in answer.items() if v is not None}


def describe_refresh_token(
    client: ApiClient,
    token: str,
    record: RefreshToken | None,
    *,
    policy: OAuthPolicy,
    now: datetime,
) -> dict[str, Any]:
    """`record` prefetched by `lookup_hash(token)`."""
    if (
        record is None
        or record.token_hash != lookup_hash(token)
        or record.client_id != client.client_id
        or record.tenant != client.tenant
        or record.rotated_at is not None
        or record.revoked_at is not None
    ):
        return dict(INACTIVE)
    expires = min(record.expires_at, record.family_expires_at)
    if now >= expires:
        return dict(INACTIVE)
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": format_scope(record.scopes),
        "client_id": record.client_id,
        "sub": record.subject,
        "iss": policy.issuer,
        "exp": epoch(expires),
        "iat": epoch(record.issued_at),
        "tenant": record.tenant,
    }
