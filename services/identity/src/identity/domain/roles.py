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
    CONTENT_EDITOR = "content_editor"  # authors the organisation's learning content
    BROKER = "broker"  # acts on the marketplace for residents who are not online (with consent)


# Appears only in client-credentials tokens (orgs claim); deliberately NOT a Role, so a check
# like ``Role.ORG_ADMIN in roles`` can never be satisfied by a machine client.
SERVICE_PSEUDO_ROLE = "service"
