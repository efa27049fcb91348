"""Random credentials of residents without an account (anonymous resume tokens, e-mail
invitation links): only their hash is stored, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

MAX_TOKEN_LENGTH = 200


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A random credential (256 bits) and the hash we store (the token itself is never)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def token_matches(token: str | None, stored_hash: str | None) -> bool:
    if not token or not stored_hash or len(token) > MAX_TOKEN_LENGTH:
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


__all__ = ["MAX_TOKEN_LENGTH", "hash_token", "new_token", "token_matches"]
