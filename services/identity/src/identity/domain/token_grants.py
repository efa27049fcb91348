"""Token endpoint decisions (RFC 6749 §4.1.3, §4.4, §6) and revocation (RFC 7009), pure.

Why not Authlib's ``AuthorizationServer``: its grants pull data through synchronous callbacks
(``query_authorization_code``, ``authenticate_refresh_token``, ``save_token`` ...) invoked in
an order the grant decides, and persist through side effects inside those callbacks. With
motor we would have to run it in a thread with a blocking bridge, or guess every lookup up
front and smuggle pending writes out through the callbacks. Worse, the two rules we care most
about do not fit its flow: a replayed code must *reject and revoke* (Authlib only rejects), and
a replayed refresh token must *revoke the whole family* while still answering invalid_grant.
So the protocol rules live here as plain functions over prefetched records returning
``GrantOutcome(writes, response | error)``; Authlib is used for its primitives (S256 PKCE,
error vocabulary) and joserfc for JWT/JWK.

Refresh tokens are issued when the client is allowed the refresh_token grant. Refreshing
re-reads the subject, so role changes and erasure take effect at the next refresh (within the
15-minute access-token lifetime).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from identity.domain.api_clients import ApiClient, GrantType
from identity.domain.jwt_tokens import (
    TokenInvalid,
    access_token_claims,
    id_token_claims,
    sign,
    verify,
)
from identity.domain.oauth_errors import (
    OAuthError,
    OAuthErrorCode,
    invalid_client,
    invalid_grant,
)
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.oauth_records import (
    AuthorizationCode,
    GrantOutcome,
    MarkCodeUsed,
    MarkRefreshRotated,
    RefreshToken,
    RevokeAccessToken,
    RevokeRefreshFamily,
    StoreRefreshToken,
    Subject,
    TokenResponse,
    Write,
    lookup_hash,
    new_opaque_token,
)
from identity.domain.pkce import verifier_matches
from identity.domain.randomness import RandomSource, token_urlsafe
from identity.domain.roles import SERVICE_PSEUDO_ROLE
from identity.domain.scopes import OPENID, format_scope, parse_scope
from identity.domain.signing_keys import KeySet

ACCESS_TOKEN_TYP = "at+jwt"
CLIENT_SUBJECT_PREFIX = "client:"


def authenticate_client(
    client: ApiClient | None, *, client_id: str, client_secret: str | None
) -> ApiClient:
    """Token/revocation endpoint client authentication; raises invalid_client.

    Public clients identify themselves by id only (PKCE protects the code); a public client
    that sends a secret is refused rather than silently accepted.
    """
    if client is None or client.disabled or client.client_id != client_id:
        raise invalid_client()
    if client.is_public:
        if client_secret is not None:
            raise invalid_client()
        return client
    if client_secret is None or not client.verify_secret(client_secret):
        raise invalid_client()
    return client


def exchange_authorization_code(
    *,
    client: ApiClient,
    code: str,
    code_record: AuthorizationCode | None,
    redirect_uri: str | None,
    code_verifier: str | None,
    subject: Subject | None,
    keys: KeySet,
    policy: OAuthPolicy,
    now: datetime,
    source: RandomSource,
) -> GrantOutcome:
    """Prefetch ``code_record`` by ``lookup_hash(code)`` and ``subject`` by its ``subject``."""
    if not client.allows_grant(GrantType.AUTHORIZATION_CODE):
        return _fail(OAuthError(OAuthErrorCode.UNAUTHORIZED_CLIENT, "grant not allowed for client"))
    record = code_record
    if (
        record is None
        or record.code_hash != lookup_hash(code)
        or record.client_id != client.client_id
    ):
        return _fail(invalid_grant("unknown code"))
    if record.used_at is not None:
        return _fail(invalid_grant("code already used"), _revoke_code_issue(record, now))
    if now >= record.expires_at:
        return _fail(invalid_grant("code expired"))
    if redirect_uri is None or redirect_uri != record.redirect_uri:
        return _fail(invalid_grant("redirect_uri does not match the authorization request"))
    if code_verifier is None or not verifier_matches(code_verifier, record.code_challenge):
        return _fail(invalid_grant("PKCE verification failed"))
    if (
        subject is None
        or not subject.active
        or subject.person_id != record.subject
        or subject.tenant != record.tenant
        or record.tenant != client.tenant
    ):
        return _fail(invalid_grant("subject not available"))

    issued = _issue_user_tokens(
        client=client,
        subject=subject,
        scopes=record.scopes,
        auth_time=record.auth_time,
        nonce=record.nonce,
        family_id=None,
        family_expires_at=None,
        keys=keys,
        policy=policy,
        now=now,
        source=source,
        with_id_token=OPENID in record.scopes,
    )
    mark = MarkCodeUsed(
        code_hash=record.code_hash,
        used_at=now,
        issued_jti=issued.jti,
        issued_jti_expires_at=now + policy.access_token_lifetime,
        issued_family_id=issued.refresh.family_id if issued.refresh else None,
    )
    writes: list[Write] = [mark]
    if issued.refresh is not None:
        writes.append(StoreRefreshToken(issued.refresh))
    return GrantOutcome(writes=tuple(writes), response=issued.response)


def refresh_access_token(
    *,
    client: ApiClient,
    presented_token: str,
    record: RefreshToken | None,
    requested_scope: str | None,
    subject: Subject | None,
    keys: KeySet,
    policy: OAuthPolicy,
    now: datetime,
    source: RandomSource,
) -> GrantOutcome:
    """Rotate: old token marked rotated, a new one in the same family. A rotated or revoked
    token presented again means it was copied: the whole family is revoked (reuse detection)."""
    if not client.allows_grant(GrantType.REFRESH_TOKEN):
        return _fail(OAuthError(OAuthErrorCode.UNAUTHORIZED_CLIENT, "grant not allowed for client"))
    if (
        record is None
        or record.token_hash != lookup_hash(presented_token)
        or record.client_id != client.client_id
    ):
        return _fail(invalid_grant("unknown refresh token"))
    if record.revoked_at is not None:
        return _fail(invalid_grant("refresh token revoked"))
    if record.rotated_at is not None:
        return _fail(
            invalid_grant("refresh token already used"),
            (RevokeRefreshFamily(record.family_id, now, "reuse_detected"),),
        )
    if now >= record.expires_at or now >= record.family_expires_at:
        return _fail(invalid_grant("refresh token expired"))
    if (
        subject is None
        or not subject.active
        or subject.person_id != record.subject
        or subject.tenant != record.tenant
    ):
        return _fail(
            invalid_grant("subject not available"),
            (RevokeRefreshFamily(record.family_id, now, "subject_inactive"),),
        )
    try:
        requested = parse_scope(requested_scope)
    except ValueError:
        return _fail(OAuthError(OAuthErrorCode.INVALID_SCOPE, "malformed scope"))
    if requested is not None and not requested <= set(record.scopes):
        return _fail(OAuthError(OAuthErrorCode.INVALID_SCOPE, "scope exceeds the original grant"))
    # Narrowing applies to this access token; the family keeps the original grant.
    issued = _issue_user_tokens(
        client=client,
        subject=subject,
        scopes=tuple(sorted(requested or record.scopes)),
        auth_time=record.auth_time,
        nonce=None,
        family_id=record.family_id,
        family_expires_at=record.family_expires_at,
        refresh_scopes=record.scopes,
        keys=keys,
        policy=policy,
        now=now,
        source=source,
        with_id_token=False,
    )
    assert issued.refresh is not None
    return GrantOutcome(
        writes=(MarkRefreshRotated(record.token_hash, now), StoreRefreshToken(issued.refresh)),
        response=issued.response,
    )


def client_credentials_grant(
    *,
    client: ApiClient,
    requested_scope: str | None,
    keys: KeySet,
    policy: OAuthPolicy,
    now: datetime,
    source: RandomSource,
) -> GrantOutcome:
    """Machine token for a confidential client: ``sub = client:<id>``, no human roles
    (``roles == []``), ``orgs = {<client org>: ["service"]}``, no refresh or ID token."""
    if client.is_public or not client.allows_grant(GrantType.CLIENT_CREDENTIALS):
        return _fail(OAuthError(OAuthErrorCode.UNAUTHORIZED_CLIENT, "grant not allowed for client"))
    try:
        requested = parse_scope(requested_scope)
    except ValueError:
        return _fail(OAuthError(OAuthErrorCode.INVALID_SCOPE, "malformed scope"))
    allowed = set(client.scopes) - {OPENID}
    scopes = allowed if requested is None else requested
    if not scopes <= allowed:
        return _fail(OAuthError(OAuthErrorCode.INVALID_SCOPE, "scope not allowed for this client"))
    scope = format_scope(scopes)
    claims = access_token_claims(
        issuer=policy.issuer,
        audience=policy.audience,
        subject=CLIENT_SUBJECT_PREFIX + client.client_id,
        client_id=client.client_id,
        tenant=client.tenant,
        scope=scope,
        roles=[],
        orgs={client.organisation: [SERVICE_PSEUDO_ROLE]},
        jti=token_urlsafe(source, 16),
        now=now,
        lifetime=policy.access_token_lifetime,
    )
    response = TokenResponse(
        access_token=sign(claims, keys, typ=ACCESS_TOKEN_TYP),
        expires_in=int(policy.access_token_lifetime.total_seconds()),
        scope=scope,
    )
    return GrantOutcome(response=response)


def revoke_token(
    *,
    client: ApiClient,
    token: str,
    refresh_record: RefreshToken | None,
    jwks: Mapping[str, Any],
    policy: OAuthPolicy,
    now: datetime,
) -> tuple[Write, ...]:
    """RFC 7009. The endpoint answers 200 whatever this returns (unknown, foreign or expired
    tokens included), so it cannot be used to probe token validity. ``token_type_hint`` is not
    needed: the service prefetches ``refresh_record`` by ``lookup_hash(token)`` and otherwise
    the token is tried as an access-token JWT."""
    if refresh_record is not None and refresh_record.token_hash == lookup_hash(token):
        if refresh_record.client_id != client.client_id or refresh_record.revoked_at is not None:
            return ()
        return (RevokeRefreshFamily(refresh_record.family_id, now, "revoked"),)
    try:
        claims = verify(
            token,
            jwks,
            issuer=policy.issuer,
            audience=policy.audience,
            now=now,
            typ=ACCESS_TOKEN_TYP,
            check_expiry=False,
        )
    except TokenInvalid:
        return ()
    expires_at = datetime.fromtimestamp(int(claims.get("exp", 0)), tz=now.tzinfo)
    if (
        claims.get("client_id") != client.client_id
        or expires_at <= now
        or not isinstance(claims.get("jti"), str)
    ):
        return ()
    return (RevokeAccessToken(jti=claims["jti"], expires_at=expires_at, revoked_at=now),)


# ---- helpers --------------------------------------------------------------------------------


class _Issued:
    __slots__ = ("jti", "refresh", "response")

    def __init__(self, jti: str, refresh: RefreshToken | None, response: TokenResponse) -> None:
        self.jti = jti
        self.refresh = refresh
        self.response = response


def _issue_user_tokens(
    *,
    client: ApiClient,
    subject: Subject,
    scopes: tuple[str, ...],
    auth_time: datetime,
    nonce: str | None,
    family_id: str | None,
    family_expires_at: datetime | None,
    keys: KeySet,
    policy: OAuthPolicy,
    now: datetime,
    source: RandomSource,
    with_id_token: bool,
    refresh_scopes: tuple[str, ...] | None = None,
) -> _Issued:
    scope = format_scope(scopes)
    jti = token_urlsafe(source, 16)
    claims = access_token_claims(
        issuer=policy.issuer,
        audience=policy.audience,
        subject=subject.person_id,
        client_id=client.client_id,
        tenant=subject.tenant,
        scope=scope,
        roles=list(subject.roles),
        orgs=subject.orgs,
        jti=jti,
        now=now,
        lifetime=policy.access_token_lifetime,
    )
    access_token = sign(claims, keys, typ=ACCESS_TOKEN_TYP)
    refresh_plain = None
    refresh = None
    if client.allows_grant(GrantType.REFRESH_TOKEN):
        refresh_plain = new_opaque_token(subject.tenant, source)
        refresh = RefreshToken(
            token_hash=lookup_hash(refresh_plain),
            family_id=family_id or token_urlsafe(source, 16),
            client_id=client.client_id,
            tenant=subject.tenant,
            subject=subject.person_id,
            scopes=refresh_scopes or scopes,
            auth_time=auth_time,
            issued_at=now,
            expires_at=now + policy.refresh_token_idle_lifetime,
            family_expires_at=family_expires_at or now + policy.refresh_family_max_lifetime,
            access_jti=jti,
            access_expires_at=now + policy.access_token_lifetime,
        )
    id_token = None
    if with_id_token:
        id_token = sign(
            id_token_claims(
                issuer=policy.issuer,
                subject=subject.person_id,
                client_id=client.client_id,
                now=now,
                lifetime=policy.id_token_lifetime,
                auth_time=auth_time,
                nonce=nonce,
                tenant=subject.tenant,
                sid=refresh.family_id if refresh is not None else jti,
            ),
            keys,
            alg=client.id_token_signed_response_alg,
        )
    response = TokenResponse(
        access_token=access_token,
        expires_in=int(policy.access_token_lifetime.total_seconds()),
        scope=scope,
        refresh_token=refresh_plain,
        id_token=id_token,
    )
    return _Issued(jti, refresh, response)


def _revoke_code_issue(record: AuthorizationCode, now: datetime) -> tuple[Write, ...]:
    writes: list[Write] = []
    if record.issued_family_id is not None:
        writes.append(RevokeRefreshFamily(record.issued_family_id, now, "code_reuse"))
    if (
        record.issued_jti is not None
        and record.issued_jti_expires_at is not None
        and record.issued_jti_expires_at > now
    ):
        writes.append(RevokeAccessToken(record.issued_jti, record.issued_jti_expires_at, now))
    return tuple(writes)


def _fail(error: OAuthError, writes: tuple[Write, ...] = ()) -> GrantOutcome:
    return GrantOutcome(writes=writes, error=error)
