"""Tenants (regional consortia), their organisations and teams.

Organisations and teams are identified by slug inside their tenant; the tenant is the unit of
isolation (one database per tenant), so ids never need to be globally unique.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from identity.domain.slugs import validate_slug, validate_tenant_slug


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tenant(_Frozen):
    slug: str
    name: str
    created_at: datetime
    is_platform: bool = False

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        # Reserved-name check happens in create_tenant; here we only check the shape so a
        # stored platform tenant can still be loaded.
        return validate_slug(value, "slug")


def create_tenant(slug: str, name: str, now: datetime) -> Tenant:
    """Create a customer tenant; refuses reserved slugs such as ``platform``."""
    validate_tenant_slug(slug, field="slug")
    return Tenant(slug=slug, name=name.strip(), created_at=now)


class OrganisationKind(StrEnum):
    WELFARE = "welfare"
    MUNICIPALITY = "municipality"
    OTHER = "other"


class Organisation(_Frozen):
    tenant: str
    slug: str
    name: str
    kind: OrganisationKind
    created_at: datetime

    @field_validator("tenant", "slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return validate_slug(value)


class Team(_Frozen):
    tenant: str
    organisation: str
    slug: str
    name: str

    @field_validator("tenant", "organisation", "slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return validate_slug(value)
