"""What the OAuth core reads (prefetched by the service layer) and the writes it asks for.

Decision functions never do I/O: the async service loads the records named in their
signatures, calls them, then persists the returned ``Write`` values (and the outbox events
they imply) in one transaction. Single use of codes and refresh tokens must additionally be
enforced by the adapter with a conditional update (``used_at``/``rotated_at`` still null);
when that update matches nothing, a concurrent request won the race and the service reloads
the record and decides again, which then takes the reuse path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from identity.domain.hashing import sha256_hex
from identity.domain.oauth_errors import OAuthError
from identity.domain.randomness import RandomSource, token_urlsafe
from identity.domain.slugs import is_valid_slug


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuthorizationCode(_Record):
    """Stored by ``code_hash``; the plain code only travels in the redirect."""

    code_hash: str
    client_id: str
    tenant: str
    subject: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    auth_time: datetime
    issued_at: datetime
    expires_at: datetime
    nonce: str | None = None
    # Filled at redemption so a replay can revoke what the first redemption issued.
    used_at: datetime | None = None
    issued_jti: str | None = None
    issued_jti_expires_at: datetime | None = None
    issued_family_id: str | None = None


class RefreshToken(_Record):
    """One link of a rotation family; stored by ``token_hash``."""

    token_hash: str
    family_id: str
    client_id: str
    tenant: str
    subject: str
    scopes: tuple[str, ...]
    auth_time: datetime
    issued_at: datetime
    expires_at: datetime
    family_expires_at: datetime
    access_jti: str
    access_expires_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


class Subject(_Record):
    """The person a user token is about, as prefetched: active status and role claims."""

    person_id: str
    tenant: str
    active: bool
    roles: tuple[str, ...]
    orgs: dict[str, list[str]]


# ---- writes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkCodeUsed:
    """Conditional on ``used_at`` being null."""

    code_hash: str
    used_at: datetime
    issued_jti: str
    issued_jti_expires_at: datetime
    issued_family_id: str | None


@dataclass(frozen=True, slots=True)
class StoreRefreshToken:
    record: RefreshToken


@dataclass(frozen=True, slots=True)
class MarkRefreshRotated:
    """Conditional on ``rotated_at`` and ``revoked_at`` being null."""

    token_hash: str
    rotated_at: datetime


@dataclass(frozen=True, slots=True)
class RevokeRefreshFamily:
    """Revoke every refresh token of the family AND deny-list each member's ``access_jti``
    (until its ``access_expires_at``): revoking a grant revokes what it issued (RFC 7009 §2.1)."""

    family_id: str
    revoked_at: datetime
    reason: str  # "revoked" | "reuse_detected" | "code_reuse" | "subject_inactive"


@dataclass(frozen=True, slots=True)
class RevokeAccessToken:
    """Deny-list a jti until the token would have expired anyway (then the entry can go)."""

    jti: str
    expires_at: datetime
    revoked_at: datetime


Write = (
    MarkCodeUsed | StoreRefreshToken | MarkRefreshRotated | RevokeRefreshFamily | RevokeAccessToken
)


@dataclass(frozen=True, slots=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None
    token_type: str = "Bearer"

    def body(self) -> dict[str, Any]:
        """The JSON body of the token endpoint (send with ``Cache-Control: no-store``)."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            body["id_token"] = self.id_token
        return body


@dataclass(frozen=True, slots=True)
class GrantOutcome:
    """Either ``response`` or ``error`` is set; ``writes`` must be persisted in both cases
    (a rejected replay still revokes)."""

    writes: tuple[Write, ...] = ()
    response: TokenResponse | None = None
    error: OAuthError | None = None


# ---- opaque secrets that carry their tenant ----------------------------------------------


def new_opaque_token(tenant: str, source: RandomSource) -> str:
    """``<tenant>.<256 random bits>``: the prefix tells the service which tenant database to
    open before any lookup; it reveals nothing that the client does not already know."""
    return f"{tenant}.{token_urlsafe(source, 32)}"


def tenant_of_token(token: str) -> str | None:
    tenant, dot, rest = token.partition(".")
    return tenant if dot and rest and is_valid_slug(tenant) else None


def lookup_hash(secret: str) -> str:
    """The key under which codes and refresh tokens are stored (plain values never are)."""
    return sha256_hex(secret)
