"""Signed, revocable calendar-feed URLs (calendar apps cannot send a Bearer token).

Token = "f1." + base64url(payload) + "." + base64url(HMAC-SHA256(secret, "f1." + payload)).
The payload binds tenant, neighbourhood code, the feed generation of that neighbourhood and an
expiry. Revoking bumps the generation, so every URL issued before stops working. The secret
is per tenant (derived by the service); the signature is compared in constant time before
anything in the payload is trusted or looked up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

_VERSION = "f1"


class FeedTokenError(ValueError):
    """Malformed, forged, expired or revoked: the caller answers 404 for all of them."""


@dataclass(frozen=True, slots=True)
class FeedClaim:
    tenant: str
    neighbourhood: str
    generation: int
    expires_at: int  # epoch seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, signed_part: str) -> bytes:
    return hmac.new(secret, signed_part.encode("ascii"), hashlib.sha256).digest()


def issue(secret: bytes, claim: FeedClaim) -> str:
    if len(secret) < 32:
        raise ValueError("secret: at least 32 bytes")
    payload = {
        "t": claim.tenant,
        "n": claim.neighbourhood,
        "g": claim.generation,
        "x": claim.expires_at,
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{_VERSION}.{body}"
    return f"{signed}.{_b64(_sign(secret, signed))}"


def verify(token: str, secret_for: Callable[[str], bytes], now: datetime) -> FeedClaim:
    """The claim of a genuine, unexpired token (generation still to be compared by the caller).

    `secret_for(tenant)` gives the key of the tenant the payload names; it must accept any
    string (validate the slug before use)."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise FeedTokenError("malformed")
    try:
        payload = json.loads(_unb64(parts[1]))
        given = _unb64(parts[2])
        claim = FeedClaim(
            str(payload["t"]), str(payload["n"]), int(payload["g"]), int(payload["x"])
        )
    except (ValueError, KeyError, TypeError):
        raise FeedTokenError("malformed") from None
    if not hmac.compare_digest(given, _sign(secret_for(claim.tenant), f"{parts[0]}.{parts[1]}")):
        raise FeedTokenError("bad signature")
    if now.timestamp() >= claim.expires_at:
        raise FeedTokenError("expired")
    return claim
