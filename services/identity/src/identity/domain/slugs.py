"""Tenant and organisation slugs (also used in database names, so kept strict)."""

from __future__ import annotations

import re

from identity.domain.texts import DomainError, Text

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}$")

# The platform operators' own tenant; a customer tenant may never take this name.
PLATFORM_TENANT = "platform"
RESERVED_TENANT_SLUGS = frozenset({PLATFORM_TENANT})


def is_valid_slug(value: str) -> bool:
    return SLUG_PATTERN.fullmatch(value) is not None


def validate_slug(value: str, field: str = "slug") -> str:
    if not is_valid_slug(value):
        raise DomainError(
            Text(
                "Een slug begint met een kleine letter en bevat 2 tot 31 tekens "
                "(kleine letters, cijfers, koppelteken).",
                "A slug starts with a lower-case letter and has 2 to 31 characters "
                "(lower-case letters, digits, hyphen).",
            ),
            field,
        )
    return value


def validate_tenant_slug(value: str, *, allow_platform: bool = False, field: str = "tenant") -> str:
    """Customer tenants may not use a reserved slug; only platform bootstrap allows it."""
    validate_slug(value, field)
    if value in RESERVED_TENANT_SLUGS and not allow_platform:
        raise DomainError(
            Text(
                f"De naam '{value}' is gereserveerd voor het platformbeheer.",
                f"The name '{value}' is reserved for platform operators.",
            ),
            field,
        )
    return value
