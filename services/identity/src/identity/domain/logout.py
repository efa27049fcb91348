"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), pure.

The relying party sends the browser to the end-session endpoint with `id_token_hint` (the
ID token it got at login), optionally `client_id`, `post_logout_redirect_uri` and `state`.
The hint says whose login ends: its `sid` names the login's refresh-token family (or, for
a client without refresh tokens, the access token issued with it), which the service then
revokes. Identity keeps no browser session of its own, so ending that login is all there
is to end.

Open-redirect rule: the browser goes back only to a `post_logout_redirect_uri` registered
for the client the request identifies (by the hint's audience or `client_id`, which must
agree); anything else is shown on our own page and never redirected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from identity.domain.api_clients import ApiClient
from identity.domain.authorization_request import MAX_STATE_LENGTH
from identity.domain.jwt_tokens import TokenInvalid, verify
from identity.domain.oauth_policy import OAuthPolicy

_FIELDS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")
ID_TOKEN_TYP = "JWT"


class LogoutRejected(ValueError):
    """The request cannot be honoured as asked; shown on our own page (no redirect)."""


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    id_token_hint: str | None = None
    client_id: str | None = None
    post_logout_redirect_uri: str | None = None
    state: str | None = None
    ui_locales: str | None = None

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> LogoutRequest:
        values: dict[str, str] = {}
        for name, value in pairs:
            if name in _FIELDS:
                if name in values:
                    raise LogoutRejected(f"repeated parameter: {name}")
                values[name] = value
        return cls(**{k: v for k, v in values.items() if v != ""})


@dataclass(frozen=True, slots=True)
class EndedLogin:
    """Whose login ends: revoke `sid` (a refresh family, else an access token's jti)."""

    tenant: str
    subject: str
    client_id: str
    sid: str | None
    #: When the access token issued with the ID token expires (for a `sid` that is a jti).
    access_expires_at: datetime


@dataclass(frozen=True, slots=True)
class LogoutDecision:
    ended: EndedLogin | None
    #: Where to send the browser (with `state`), or None: show the logged-out page.
    redirect_to: str | None


def id_token_claims_of(
    hint: str, jwks: Mapping[str, Any], *, policy: OAuthPolicy, now: datetime
) -> dict[str, Any]:
    """The claims of an ID token this issuer signed (`typ: JWT`, so never an access token).
    Expired hints are accepted (a logout often comes after the ID token's short lifetime);
    forged or foreign ones are not. The audience checked is the hint's own client id:
    `decide_logout` binds it to the request's client."""
    try:
        claims = verify(
            hint,
            jwks,
            issuer=policy.issuer,
            audience=_audience_of(hint),
            now=now,
            typ=ID_TOKEN_TYP,
            check_expiry=False,
        )
    except TokenInvalid as error:
        raise LogoutRejected(f"id_token_hint: {error}") from None
    return claims


def decide_logout(
    request: LogoutRequest,
    *,
    hint_claims: Mapping[str, Any] | None,
    client: ApiClient | None,
    policy: OAuthPolicy,
) -> LogoutDecision:
    """`hint_claims` from `id_token_claims_of` (None without a hint); `client` loaded by the
    hint's audience, else by `client_id`."""
    if request.state is not None and len(request.state) > MAX_STATE_LENGTH:
        raise LogoutRejected("state too long")
    audience = None if hint_claims is None else str(hint_claims.get("aud"))
    if audience is not None and request.client_id not in (None, audience):
        raise LogoutRejected("client_id does not match the id_token_hint")
    wanted = audience or request.client_id
    if wanted is not None and (client is None or client.client_id != wanted):
        raise LogoutRejected("unknown client")
    if client is not None and client.disabled:
        raise LogoutRejected("client disabled")
    hint_tenant = None if hint_claims is None else hint_claims.get("tenant")
    if client is not None and hint_claims is not None and hint_tenant != client.tenant:
        raise LogoutRejected("id_token_hint of another tenant")
    redirect_to = None
    if request.post_logout_redirect_uri is not None:
        uri = request.post_logout_redirect_uri
        if client is None or not client.has_post_logout_redirect_uri(uri):
            raise LogoutRejected("post_logout_redirect_uri is not registered for this client")
        redirect_to = with_state(uri, request.state)
    ended = None
    if hint_claims is not None and client is not None:
        issued = datetime.fromtimestamp(int(hint_claims.get("iat", 0)), tz=UTC)
        sid = hint_claims.get("sid")
        ended = EndedLogin(
            tenant=client.tenant,
            subject=str(hint_claims["sub"]),
            client_id=client.client_id,
            sid=sid if isinstance(sid, str) and sid else None,
            access_expires_at=issued + policy.access_token_lifetime,
        )
    return LogoutDecision(ended=ended, redirect_to=redirect_to)


def with_state(uri: str, state: str | None) -> str:
    """The registered URI with `state` added, its own query kept."""
    if state is None:
        return uri
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("state", state)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


# ---- helpers --------------------------------------------------------------------------------


def _audience_of(token: str) -> str:
    try:
        payload = json.loads(extract_compact(token.encode()).payload)
    except (JoseError, ValueError, UnicodeError, TypeError):
        raise LogoutRejected("id_token_hint unreadable") from None
    audience = payload.get("aud") if isinstance(payload, dict) else None
    if not isinstance(audience, str) or not audience:
        raise LogoutRejected("id_token_hint without a single audience")
    return audience
