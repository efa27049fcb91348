"""OAuth scopes: parsing and the standard OpenID Connect scopes."""

from __future__ import annotations

import re
from collections.abc import Iterable

OPENID = "openid"
PROFILE = "profile"
EMAIL = "email"
OFFLINE_ACCESS = "offline_access"
STANDARD_SCOPES = frozenset({OPENID, PROFILE, EMAIL, OFFLINE_ACCESS})

# RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def is_scope_token(value: str) -> bool:
    return _SCOPE_TOKEN.fullmatch(value) is not None


def parse_scope(value: str | None) -> frozenset[str] | None:
    """Space-separated scope string -> set, None for absent/empty, ValueError on bad tokens."""
    if value is None or not value.strip():
        return None
    tokens = value.split(" ")
    if any(not is_scope_token(token) for token in tokens if token):
        raise ValueError("invalid scope token")
    return frozenset(token for token in tokens if token)


def format_scope(scopes: Iterable[str]) -> str:
    """Sorted so that equal scope sets always render the same string."""
    return " ".join(sorted(set(scopes)))
