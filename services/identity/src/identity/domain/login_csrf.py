"""CSRF protection of the login form: a signed double-submit token bound to the request.

The browser holds a random value in an HttpOnly cookie; the form carries
``<issued_at>.<HMAC(key, cookie value | issued_at | request binding)>``. A POST is accepted
only when the field's signature matches the cookie sent with it, the authorization request
it was issued for (client, redirect URI, state, PKCE challenge, scope, nonce) and is younger
than ``max_age``. A cross-site page can neither read the cookie nor compute the signature
without the server key, and a token lifted from one login page does not fit another request.
One cookie value serves every login tab of a browser (the cookie is reused while valid).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from identity.domain.randomness import RandomSource, token_urlsafe

COOKIE_NAME = "wk_login_csrf"
#: With https the ``__Host-`` prefix: Secure, Path=/, no Domain, so a sibling subdomain
#: cannot plant its own cookie value (login CSRF into the attacker's account).
SECURE_COOKIE_NAME = "__Host-wk_login_csrf"
FIELD_NAME = "csrf_token"
_MIN_COOKIE_LENGTH = 32


def new_cookie_value(source: RandomSource) -> str:
    return token_urlsafe(source, 32)


def is_cookie_value(value: str | None) -> bool:
    return (
        value is not None
        and _MIN_COOKIE_LENGTH <= len(value) <= 128
        and all(ch.isalnum() or ch in "-_" for ch in value)
    )


def request_binding(pairs: Iterable[tuple[str, str]]) -> str:
    """A digest of the authorization request's parameters (order-independent)."""
    canonical = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _signature(key: bytes, cookie_value: str, issued_at: int, binding: str) -> str:
    message = f"{cookie_value}|{issued_at}|{binding}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue_form_token(key: bytes, cookie_value: str, binding: str, now: int) -> str:
    return f"{now}.{_signature(key, cookie_value, now, binding)}"


def verify_form_token(
    key: bytes,
    *,
    cookie_value: str | None,
    token: str | None,
    binding: str,
    now: int,
    max_age: int,
) -> bool:
    if not is_cookie_value(cookie_value) or not token:
        return False
    issued, dot, signature = token.partition(".")
    if not dot or not issued.isdigit() or len(issued) > 12:
        return False
    issued_at = int(issued)
    if issued_at > now + 60 or now - issued_at > max_age:
        return False
    expected = _signature(key, cookie_value or "", issued_at, binding)
    return hmac.compare_digest(expected, signature)
