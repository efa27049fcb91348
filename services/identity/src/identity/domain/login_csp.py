"""The login page's Content-Security-Policy.

The page posts its form to us, and we answer with a 303 to the client's `redirect_uri`.
Chromium applies `form-action` to every redirect after a form submission, so with
`form-action 'self'` alone the code never reaches a client on another origin. The origin of
the *validated* redirect URI (registered by the client, matched exactly) is therefore allowed
too; pages for an unknown client or redirect URI keep `'self'` only.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_BASE = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
# A host-source as CSP spells it: no quotes, semicolons, commas or spaces can slip in.
_HOST = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*$")
_IPV6 = re.compile(r"^[0-9a-f:.]+$")  # urlsplit's hostname drops the brackets


def redirect_origin(redirect_uri: str) -> str | None:
    """`https://app.example/cb?x=1` -> `https://app.example`; None for anything that is not
    a plain http(s) origin (it is then simply not allowed)."""
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https"):
        return None
    if ":" in host and _IPV6.match(host):
        host = f"[{host}]"
    elif not _HOST.match(host):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def login_page_csp(redirect_uri: str | None = None) -> str:
    """The policy of the login form page; `redirect_uri` only once client and URI are valid."""
    sources = ["'self'"]
    origin = redirect_origin(redirect_uri) if redirect_uri else None
    if origin is not None:
        sources.append(origin)
    return f"{_BASE}; form-action {' '.join(sources)}"
