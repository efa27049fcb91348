"""The authorization endpoint: validate the request, then issue a code after login.

Open-redirect rule: until the client and its exact redirect URI are known, errors are shown
on our own page (``AuthorizationRejected.redirect_uri is None``); only afterwards are errors
sent back to the client's redirect URI, always with ``state`` and ``iss`` (RFC 9207).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from identity.domain.api_clients import ApiClient, GrantType
from identity.domain.oauth_errors import OAuthError, OAuthErrorCode
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.oauth_records import AuthorizationCode, lookup_hash, new_opaque_token
from identity.domain.pkce import S256, is_valid_s256_challenge
from identity.domain.randomness import RandomSource
from identity.domain.scopes import parse_scope

MAX_STATE_LENGTH = 512
_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client_id: str | None = None
    redirect_uri: str | None = None
    response_type: str | None = None
    scope: str | None = None
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    duplicated: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, pairs: Iterable[tuple[str, str]]) -> AuthorizationRequest:
        """From raw query pairs; a repeated parameter is an error (RFC 6749 §3.1), not last-wins."""
        values: dict[str, str] = {}
        duplicated: list[str] = []
        for name, value in pairs:
            if name not in _FIELDS:
                continue
            if name in values:
                duplicated.append(name)
            values[name] = value
        return cls(**values, duplicated=tuple(sorted(set(duplicated))))


@dataclass(frozen=True, slots=True)
class ValidatedAuthorization:
    """Keep this (e.g. in the login session) while the person logs in and consents."""

    client_id: str
    tenant: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    state: str | None
    nonce: str | None


class AuthorizationRejected(Exception):
    def __init__(
        self, error: OAuthError, redirect_uri: str | None, state: str | None, issuer: str
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state
        self.issuer = issuer

    def redirect_location(self) -> str | None:
        """Where to send the browser, or None: render an error page, do not redirect."""
        if self.redirect_uri is None:
            return None
        params = {"error": self.error.code.value, "error_description": self.error.description}
        return add_query(self.redirect_uri, params, state=self.state, issuer=self.issuer)


def validate_authorization_request(
    request: AuthorizationRequest, client: ApiClient | None, policy: OAuthPolicy
) -> ValidatedAuthorization:
    def page(description: str) -> AuthorizationRejected:
        return AuthorizationRejected(
            OAuthError(OAuthErrorCode.INVALID_REQUEST, description), None, None, policy.issuer
        )

    if "client_id" in request.duplicated or "redirect_uri" in request.duplicated:
        raise page("repeated client_id or redirect_uri")
    if client is None or client.disabled or request.client_id != client.client_id:
        raise page("unknown client")
    if request.redirect_uri is None or not client.has_redirect_uri(request.redirect_uri):
        raise page("redirect_uri is not registered for this client")

    state = request.state

    def back(code: OAuthErrorCode, description: str) -> AuthorizationRejected:
        return AuthorizationRejected(
            OAuthError(code, description), request.redirect_uri, state, policy.issuer
        )

    if state is not None and len(state) > MAX_STATE_LENGTH:
        state = None
        raise back(OAuthErrorCode.INVALID_REQUEST, "state too long")
    if request.duplicated:
        raise back(
            OAuthErrorCode.INVALID_REQUEST, f"repeated parameter: {', '.join(request.duplicated)}"
        )
    if request.response_type != "code":
        raise back(OAuthErrorCode.UNSUPPORTED_RESPONSE_TYPE, "only response_type=code is supported")
    if not client.allows_grant(GrantType.AUTHORIZATION_CODE):
        raise back(
            OAuthErrorCode.UNAUTHORIZED_CLIENT, "client may not use the authorization code flow"
        )
    if request.code_challenge is None:
        raise back(OAuthErrorCode.INVALID_REQUEST, "code_challenge required (PKCE)")
    # A missing method means "plain" (RFC 7636 §4.3), which we refuse like an explicit plain.
    if request.code_challenge_method != S256:
        raise back(OAuthErrorCode.INVALID_REQUEST, "code_challenge_method must be S256")
    if not is_valid_s256_challenge(request.code_challenge):
        raise back(OAuthErrorCode.INVALID_REQUEST, "malformed code_challenge")
    try:
        scopes = parse_scope(request.scope)
    except ValueError:
        raise back(OAuthErrorCode.INVALID_SCOPE, "malformed scope") from None
    if not scopes or not scopes <= set(client.scopes):
        raise back(OAuthErrorCode.INVALID_SCOPE, "scope missing or not allowed for this client")
    if request.nonce is not None and len(request.nonce) > MAX_STATE_LENGTH:
        raise back(OAuthErrorCode.INVALID_REQUEST, "nonce too long")
    return ValidatedAuthorization(
        client_id=client.client_id,
        tenant=client.tenant,
        redirect_uri=request.redirect_uri,
        scopes=tuple(sorted(scopes)),
        code_challenge=request.code_challenge,
        state=state,
        nonce=request.nonce,
    )


def issue_authorization_code(
    validated: ValidatedAuthorization,
    *,
    subject: str,
    auth_time: datetime,
    now: datetime,
    policy: OAuthPolicy,
    source: RandomSource,
) -> tuple[str, AuthorizationCode]:
    """After login (and consent): the plain code for the redirect and the record to store."""
    code = new_opaque_token(validated.tenant, source)
    record = AuthorizationCode(
        code_hash=lookup_hash(code),
        client_id=validated.client_id,
        tenant=validated.tenant,
        subject=subject,
        redirect_uri=validated.redirect_uri,
        scopes=validated.scopes,
        code_challenge=validated.code_challenge,
        nonce=validated.nonce,
        auth_time=auth_time,
        issued_at=now,
        expires_at=now + policy.code_lifetime,
    )
    return code, record


def authorization_response_location(
    validated: ValidatedAuthorization, code: str, policy: OAuthPolicy
) -> str:
    """The redirect back to the client: code, the echoed state, and iss (mix-up defence)."""
    return add_query(
        validated.redirect_uri, {"code": code}, state=validated.state, issuer=policy.issuer
    )


def add_query(uri: str, params: dict[str, str], *, state: str | None, issuer: str) -> str:
    """Append parameters, keeping the registered URI's own query intact (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend(params.items())
    if state is not None:
        query.append(("state", state))
    query.append(("iss", issuer))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
