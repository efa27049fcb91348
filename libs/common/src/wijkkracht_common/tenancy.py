"""Request context (tenant, correlation id) carried in context variables for logs and events.

The tenant always comes from a verified token or an event envelope, never from a header or
body the caller controls; this module only carries it, it does not decide it.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
PLATFORM_TENANT = "platform"

_tenant: ContextVar[str | None] = ContextVar("wk_tenant", default=None)
_correlation_id: ContextVar[str | None] = ContextVar("wk_correlation_id", default=None)


def is_valid_slug(value: str) -> bool:
    return bool(SLUG_PATTERN.fullmatch(value))


def require_slug(value: str, what: str = "tenant") -> str:
    if not is_valid_slug(value):
        raise ValueError(f"invalid {what} slug: {value!r} (expected {SLUG_PATTERN.pattern})")
    return value


def current_tenant() -> str | None:
    return _tenant.get()


def set_tenant(tenant: str | None) -> None:
    _tenant.set(tenant)


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def set_correlation_id(correlation_id: str | None) -> None:
    _correlation_id.set(correlation_id)
