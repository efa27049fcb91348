from __future__ import annotations

from datetime import datetime

import pytest
from identity.domain.roles import Role
from identity.domain.slugs import is_valid_slug, validate_tenant_slug
from identity.domain.tenancy import Organisation, OrganisationKind, Tenant, create_tenant
from identity.domain.texts import DomainError
from pydantic import ValidationError


@pytest.mark.parametrize("slug", ["zaanstreek", "de-smd", "a1", "gemeente-zaanstad", "a" * 31])
def test_valid_slugs(slug: str) -> None:
    assert is_valid_slug(slug)


@pytest.mark.parametrize(
    "slug", ["", "a", "1abc", "-abc", "Zaanstreek", "de_smd", "de smd", "a" * 32, "café", "abc\n"]
)
def test_invalid_slugs(slug: str) -> None:
    assert not is_valid_slug(slug)


def test_platform_slug_is_reserved_for_customer_tenants(now: datetime) -> None:
    with pytest.raises(DomainError) as caught:
        create_tenant("platform", "Platform", now)
    assert "gereserveerd" in str(caught.value) and "reserved" in str(caught.value)
    assert validate_tenant_slug("platform", allow_platform=True) == "platform"


def test_tenant_and_organisation_serialise_to_plain_dicts(now: datetime) -> None:
    tenant = create_tenant("zaanstreek", "  Zaanstreek  ", now)
    assert tenant.model_dump() == {
        "slug": "zaanstreek",
        "name": "Zaanstreek",
        "created_at": now,
        "is_platform": False,
    }
    org = Organisation(
        tenant="zaanstreek",
        slug="de-smd",
        name="De SMD",
        kind=OrganisationKind.WELFARE,
        created_at=now,
    )
    assert Organisation.model_validate(org.model_dump()) == org
    with pytest.raises(ValidationError):
        Organisation(
            tenant="zaanstreek",
            slug="De SMD",
            name="x",
            kind=OrganisationKind.WELFARE,
            created_at=now,
        )


def test_stored_boolean_quirk_is_coerced(now: datetime) -> None:
    # The embedded database returns booleans written with $set as 1/0.
    tenant = Tenant.model_validate(
        {"slug": "demo", "name": "Demo", "created_at": now, "is_platform": 1}
    )
    assert tenant.is_platform is True


def test_roles_enum_values() -> None:
    assert {r.value for r in Role} == {
        "resident",
        "professional",
        "volunteer",
        "org_admin",
        "analyst",
        "neighbourhood_manager",
        "tenant_admin",
        "platform_operator",
        "content_editor",
        "broker",
    }
