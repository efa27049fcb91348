"""Response headers every page gets (CSP without 'unsafe-inline', no framing, no sniffing),
the session cookie, and the CSRF check of every form."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.api import api_seconds

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
STATIC_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def cookie_name(secure: bool) -> str:
    # __Host-: only set by this host over https, path /, no Domain (no subdomain can plant it)
    return "__Host-wk-portal" if secure else "wk-portal"


def session_cookie(name: str, value: str, *, secure: bool, max_age: int) -> str:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class SecurityHeaders:
    """Pure ASGI middleware: security headers, the session cookie a handler asked for
    (`request.state.session_cookie`), no caching of personal pages, and Server-Timing."""

    def __init__(self, app: ASGIApp, *, secure: bool, max_age: int) -> None:
        self.app = app
        self.secure = secure
        self.max_age = max_age
        self.name = cookie_name(secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        spent = [0.0]
        token = api_seconds.set(spent)
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in STATIC_HEADERS.items():
                    headers.setdefault(key, value)
                if not static:
                    headers.setdefault("cache-control", "no-store")
                cookie = state.get("session_cookie")
                if cookie is not None:
                    value, max_age = cookie
                    headers.append(
                        "set-cookie",
                        session_cookie(self.name, value, secure=self.secure, max_age=max_age),
                    )
                for extra in state.get("extra_cookies", ()):
                    headers.append("set-cookie", extra)
                headers.append("server-timing", f"api;dur={spent[0] * 1000:.1f}")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            api_seconds.reset(token)


def csrf_valid(expected: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(expected, str(presented))


def same_origin(origin: str | None, public_url: str) -> bool:
    """A browser's Origin header (sent on POST) must be the portal's own."""
    if origin is None:
        return True  # older browsers and non-browser clients: the token alone decides
    own = urlsplit(public_url)
    seen = urlsplit(origin)
    return (seen.scheme, seen.netloc) == (own.scheme, own.netloc)


Handler = Callable[..., Awaitable[Any]]
