"""Signed one-click "klopt nog" (still correct) links.

Token = "v1." + base64url(payload) + "." + base64url(HMAC-SHA256(secret, "v1." + payload)).
Payload binds tenant, entry id, the entry's assured_at and revision, and an expiry, so a link
stops working once the entry was changed or verified since, or when it expires.
The secret is per tenant and comes from settings; this module never stores it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from social_map.domain.model import Entry

_VERSION = "v1"


class TokenProblem(StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    WRONG_ENTRY = "wrong_entry"
    ENTRY_CHANGED = "entry_changed"


class TokenError(ValueError):
    def __init__(self, problem: TokenProblem) -> None:
        self.problem = problem
        super().__init__(problem.value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _stamp(entry: Entry) -> str:
    return entry.assured_at.isoformat() if entry.assured_at else "-"


def _sign(secret: bytes, signed_part: str) -> bytes:
    return hmac.new(secret, signed_part.encode("ascii"), hashlib.sha256).digest()


def issue(secret: bytes, tenant: str, entry: Entry, expires_at: datetime) -> str:
    if len(secret) < 32:
        raise ValueError("secret: at least 32 bytes")
    payload = {
        "t": tenant,
        "e": entry.id,
        "a": _stamp(entry),
        "r": entry.revision,
        "x": int(expires_at.timestamp()),
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{_VERSION}.{body}"
    return f"{signed}.{_b64(_sign(secret, signed))}"


def check(secret: bytes, token: str, tenant: str, entry: Entry, now: datetime) -> None:
    """Raise TokenError unless the token is genuine, unexpired and matches the entry as it is now.

    The signature is compared in constant time before the payload is trusted.
    """
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise TokenError(TokenProblem.MALFORMED)
    try:
        given = _unb64(parts[2])
    except (ValueError, TypeError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if not hmac.compare_digest(given, _sign(secret, f"{parts[0]}.{parts[1]}")):
        raise TokenError(TokenProblem.BAD_SIGNATURE)
    try:
        payload = json.loads(_unb64(parts[1]))
        t, e, a, r, x = payload["t"], payload["e"], payload["a"], payload["r"], int(payload["x"])
    except (ValueError, KeyError, TypeError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if now.timestamp() >= x:
        raise TokenError(TokenProblem.EXPIRED)
    if t != tenant or e != entry.id:
        raise TokenError(TokenProblem.WRONG_ENTRY)
    if a != _stamp(entry) or r != entry.revision:
        raise TokenError(TokenProblem.ENTRY_CHANGED)


def peek(token: str, secret_for: Callable[[str], bytes]) -> tuple[str, str]:
    """(tenant, entry id) of a genuine token: the signature (with the key of the tenant the
    payload names) is checked in constant time before anything is looked up; `check` then
    verifies expiry and that the entry is unchanged."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise TokenError(TokenProblem.MALFORMED)
    try:
        payload = json.loads(_unb64(parts[1]))
        tenant, entry_id = payload["t"], payload["e"]
        given = _unb64(parts[2])
    except (ValueError, KeyError, TypeError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if not isinstance(tenant, str) or not isinstance(entry_id, str):
        raise TokenError(TokenProblem.MALFORMED)
    if not hmac.compare_digest(given, _sign(secret_for(tenant), f"{parts[0]}.{parts[1]}")):
        raise TokenError(TokenProblem.BAD_SIGNATURE)
    return tenant, entry_id
