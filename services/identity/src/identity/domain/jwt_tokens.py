"""Access and ID tokens as signed JWTs: claim builders, signing and verification."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet as JoseKeySet

from identity.domain.signing_keys import KeySet, SigningAlg

ALLOWED_ALGORITHMS = ("ES256", "RS256")


class TokenInvalid(ValueError):
    """The token failed signature or claim checks; the reason is for logs, not for callers."""


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def access_token_claims(
    *,
    issuer: str,
    audience: str,
    subject: str,
    client_id: str,
    tenant: str,
    scope: str,
    roles: list[str],
    orgs: Mapping[str, list[str]],
    jti: str,
    now: datetime,
    lifetime: timedelta,
) -> dict[str, Any]:
    issued = epoch(now)
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": jti,
        "scope": scope,
        "tenant": tenant,
        "client_id": client_id,
        "roles": sorted(set(roles)),
        "orgs": {org: sorted(set(org_roles)) for org, org_roles in sorted(orgs.items())},
    }


def id_token_claims(
    *,
    issuer: str,
    subject: str,
    client_id: str,
    now: datetime,
    lifetime: timedelta,
    auth_time: datetime,
    nonce: str | None,
    tenant: str,
    sid: str | None = None,
) -> dict[str, Any]:
    """`sid` names the login the ID token belongs to (its refresh-token family, else its
    access token's jti), so RP-initiated logout with it as `id_token_hint` ends exactly
    that login."""
    issued = epoch(now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "iat": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "auth_time": epoch(auth_time),
        "tenant": tenant,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if sid is not None:
        claims["sid"] = sid
    return claims


def sign(
    claims: Mapping[str, Any], keys: KeySet, *, typ: str = "JWT", alg: SigningAlg | None = None
) -> str:
    """Sign with the active key (of `alg`, else the default algorithm's); the header names it
    by ``kid`` so verifiers pick the right one.

    Access tokens use ``typ: at+jwt`` (RFC 9068) so an ID token can never be replayed as one.
    """
    key = keys.active_key(alg)
    header = {"alg": key.alg, "kid": key.kid, "typ": typ}
    return jwt.encode(header, dict(claims), key.private_key(), algorithms=[key.alg])


def verify(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    now: datetime,
    leeway: int = 0,
    typ: str | None = "at+jwt",
    algorithms: Collection[str] = ALLOWED_ALGORITHMS,
    check_expiry: bool = True,
) -> dict[str, Any]:
    """Verify signature against a JWKS document and check iss/aud/exp/nbf/iat (and typ).

    The reference implementation of what ``wijkkracht_common.auth`` must do; identity itself
    uses it for userinfo and revocation (``check_expiry=False``: an expired token still
    identifies which jti to ignore).
    """
    try:
        key_set = JoseKeySet.import_key_set({"keys": list(jwks.get("keys", []))})
        decoded = jwt.decode(token, key_set, algorithms=list(algorithms))
    except (JoseError, ValueError, TypeError) as error:
        raise TokenInvalid(f"signature: {type(error).__name__}") from error
    if "kid" not in decoded.header:
        raise TokenInvalid("missing kid")
    if typ is not None and decoded.header.get("typ") != typ:
        raise TokenInvalid("wrong typ")
    options: dict[str, jwt.ClaimsOption] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": audience},
        "sub": {"essential": True},
        "iat": {"essential": True},
    }
    if check_expiry:
        options["exp"] = {"essential": True}
    registry = jwt.JWTClaimsRegistry(now=epoch(now), leeway=leeway, **options)
    claims = dict(decoded.claims)
    if not check_expiry:
        claims_to_check = {k: v for k, v in claims.items() if k not in ("exp", "nbf")}
    else:
        claims_to_check = claims
    try:
        registry.validate(claims_to_check)
    except JoseError as error:
        raise TokenInvalid(f"claims: {type(error).__name__}") from error
    return claims
