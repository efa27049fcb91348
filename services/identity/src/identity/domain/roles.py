"""Roles held through an organisation membership (a person may hold several)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    RESIDENT = "resident"
    PROFESSIONAL = "professional"
    VOLUNTEER = "volunteer"
    ORG_ADMIN = "org_admin"
    ANALYST = "analyst"  # municipality analyst: aggregates only
    NEIGHBOURHOOD_MANAGER = "neighbourhood_manager"
    TENANT_ADMIN = "tenant_admin"
    PLATFORM_OPERATOR = "platform_operator"


# Appears only in client-credentials tokens (orgs claim); deliberately NOT a Role, so a check
# like ``Role.ORG_ADMIN in roles`` can never be satisfied by a machine client.
SERVICE_PSEUDO_ROLE = "service"
