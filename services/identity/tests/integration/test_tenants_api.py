"""POST/GET /tenants: platform operators only, slug rules, 409 duplicates, tenant_created."""

from __future__ import annotations

import pytest
from identity.domain.roles import Role
from identity.domain.slugs import PLATFORM_TENANT
from identity.domain.tenancy import OrganisationKind
from identity.service import directory
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import App
from .test_events_and_consent import stream_events

pytestmark = pytest.mark.integration

P = "/identity/v1"


async def _operator_headers(identity: App) -> dict[str, str]:
    await directory.create_organisation(
        identity.ctx,
        PLATFORM_TENANT,
        slug="ops",
        name="Ops",
        kind=OrganisationKind.OTHER,
        actor="test",
    )
    operator = await identity.person(
        PLATFORM_TENANT, "ops@platform.test", {"ops": [Role.PLATFORM_OPERATOR]}
    )
    return await identity.headers_for(PLATFORM_TENANT, operator)


async def test_only_platform_operators_create_tenants(
    identity: App, two_tenants: TwoTenants, nats_url: str
) -> None:
    existing = two_tenants.b
    await identity.tenant(existing)
    tenant_admin = await identity.person(existing, "ta@b.test", {"welzijn": [Role.TENANT_ADMIN]})
    body = {"slug": two_tenants.a, "name": "Regio A", "k_anonymity": 5}
    refused = await identity.http.post(
        f"{P}/tenants", json=body, headers=await identity.headers_for(existing, tenant_admin)
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await identity.http.post(f"{P}/tenants", json=body)).status_code == 401
    assert (
        await identity.http.get(
            f"{P}/tenants", headers=await identity.headers_for(existing, tenant_admin)
        )
    ).status_code == 403

    headers = await _operator_headers(identity)
    created = await identity.http.post(
        f"{P}/tenants", json=body, headers={**headers, "Idempotency-Key": "t-1"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == two_tenants.a and created.json()["name"] == "Regio A"
    replay = await identity.http.post(
        f"{P}/tenants", json=body, headers={**headers, "Idempotency-Key": "t-1"}
    )
    assert replay.status_code == 201 and replay.json() == created.json()
    duplicate = await identity.http.post(
        f"{P}/tenants", json=body | {"name": "Again"}, headers=headers
    )
    assert duplicate.status_code == 409
    assert "bestaat al" in duplicate.json()["detail"]
    listed = await identity.http.get(f"{P}/tenants", headers=headers, params={"limit": 100})
    assert two_tenants.a in {t["slug"] for t in listed.json()["items"]}

    events = await stream_events(
        nats_url, f"wk.{two_tenants.a}.identity.tenant_created.v1", expect=1
    )
    assert len(events) == 1  # the idempotent replay and the 409 published nothing
    assert events[0]["data"] == {"tenant_slug": two_tenants.a, "k_anonymity": 5}
    assert events[0]["tenant"] == two_tenants.a and events[0]["subject"] == two_tenants.a


@pytest.mark.parametrize("slug", ["Bad", "a", "1regio", "regio_a", "-regio", "r" * 32, "platform"])
async def test_tenant_slug_rules(identity: App, slug: str) -> None:
    headers = await _operator_headers(identity)
    response = await identity.http.post(
        f"{P}/tenants", json={"slug": slug, "name": "X"}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "slug"


async def test_tenant_body_rules(identity: App, two_tenants: TwoTenants) -> None:
    headers = await _operator_headers(identity)
    for body in (
        {"slug": two_tenants.a, "name": ""},
        {"slug": two_tenants.a, "name": "X", "k_anonymity": 1},
        {"slug": two_tenants.a, "name": "X", "unknown": 1},
    ):
        assert (
            await identity.http.post(f"{P}/tenants", json=body, headers=headers)
        ).status_code == 422
