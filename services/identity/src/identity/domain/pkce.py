"""PKCE (RFC 7636), S256 only: ``plain`` gives no protection once the request is observed."""

from __future__ import annotations

import hmac
import re

from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped,unused-ignore]

S256 = "S256"
# RFC 7636 §4.1: verifier = 43-128 chars of [A-Za-z0-9-._~]; S256 challenge = 43 base64url chars.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def is_valid_verifier(verifier: str) -> bool:
    return _VERIFIER.fullmatch(verifier) is not None


def is_valid_s256_challenge(challenge: str) -> bool:
    return _S256_CHALLENGE.fullmatch(challenge) is not None


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (Authlib's implementation)."""
    challenge: str = create_s256_code_challenge(verifier).rstrip("=")
    return challenge


def verifier_matches(verifier: str, challenge: str) -> bool:
    """Constant-time comparison of the derived challenge; malformed verifiers never match."""
    if not is_valid_verifier(verifier):
        return False
    return hmac.compare_digest(s256_challenge(verifier), challenge)
