"""Hashes for server-generated secrets (codes, refresh tokens, client secrets).

These secrets are random and long (>= 256 bits), so a fast SHA-256 is enough and lets the
adapter look records up by hash. Human-chosen passwords use argon2 instead (service layer);
short human-typed login codes use a keyed HMAC (see ``login_codes``).
"""

from __future__ import annotations

import hashlib
import hmac


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches_sha256(secret: str, expected_hex: str) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a secret matched."""
    return hmac.compare_digest(sha256_hex(secret), expected_hex)
