"""Admin API: problems for bad input, 409 duplicates, 403 roles, 404 across tenants."""

from __future__ import annotations

import pytest
from identity.domain.roles import Role
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import App

pytestmark = pytest.mark.integration

P = "/identity/v1"


async def test_malformed_bodies_are_422_problems_with_field_errors(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    admin = await identity.person(t, "admin@a.test", {"welzijn": [Role.TENANT_ADMIN]})
    headers = await identity.headers_for(t, admin)

    bad_slug = await identity.http.post(
        f"{P}/organisations", headers=headers, json={"slug": "Bad Slug!", "name": ""}
    )
    assert bad_slug.status_code == 422
    assert bad_slug.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in bad_slug.json()["errors"]}
    assert {"slug", "name"} <= fields

    not_json = await identity.http.post(
        f"{P}/organisations",
        headers={**headers, "content-type": "application/json"},
        content=b"{nope",
    )
    assert not_json.status_code == 422

    bad_email = await identity.http.post(
        f"{P}/people",
        headers=headers,
        json={
            "display_name": "X",
            "email": "not-an-email",
            "password": "long-enough-pw",
            "memberships": [{"organisation": "welzijn", "roles": ["professional"]}],
        },
    )
    assert bad_email.status_code == 422
    assert bad_email.json()["errors"][0]["field"] == "email"

    weak = await identity.http.post(
        f"{P}/people",
        headers=headers,
        json={
            "display_name": "X",
            "email": "x@a.test",
            "password": "short",
            "memberships": [{"organisation": "welzijn", "roles": ["professional"]}],
        },
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "password"

    bad_role = await identity.http.post(
        f"{P}/people",
        headers=headers,
        json={
            "display_name": "X",
            "email": "y@a.test",
            "password": "long-enough-pw",
            "memberships": [{"organisation": "welzijn", "roles": ["wizard"]}],
        },
    )
    assert bad_role.status_code == 422
    assert "memberships" in bad_role.json()["errors"][0]["field"]

    csv = await identity.http.put(
        f"{P}/neighbourhoods",
        headers=headers,
        content=b"code,name,lat,lon,postcodes\nX1,,95,4,12\n",
    )
    assert csv.status_code == 422
    assert all(e["field"] == "line 2" for e in csv.json()["errors"])


async def test_duplicate_email_in_a_tenant_is_409(identity: App, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    admin = await identity.person(t, "admin@a.test", {"welzijn": [Role.TENANT_ADMIN]})
    headers = await identity.headers_for(t, admin)
    body = {
        "display_name": "Sam",
        "email": "sam@a.test",
        "password": "long-enough-pw",
        "memberships": [{"organisation": "welzijn", "roles": ["professional"]}],
    }
    first = await identity.http.post(f"{P}/people", headers=headers, json=body)
    assert first.status_code == 201, first.text
    again = await identity.http.post(
        f"{P}/people", headers=headers, json=body | {"email": " SAM@a.test "}
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_idempotency_key_returns_the_first_result(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    admin = await identity.person(t, "admin@a.test", {"welzijn": [Role.TENANT_ADMIN]})
    headers = {**await identity.headers_for(t, admin), "Idempotency-Key": "k-1"}
    body = {"slug": "buurtwerk", "name": "Buurtwerk"}
    first = await identity.http.post(f"{P}/organisations", headers=headers, json=body)
    second = await identity.http.post(f"{P}/organisations", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replay") == "true"


async def test_wrong_role_is_403(identity: App, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    pro = await identity.person(t, "pro@a.test", {"welzijn": [Role.PROFESSIONAL]})
    headers = await identity.headers_for(t, pro)
    response = await identity.http.post(
        f"{P}/organisations", headers=headers, json={"slug": "other", "name": "Other"}
    )
    assert response.status_code == 403
    assert response.json()["required_roles"] == ["tenant_admin"]
    assert (
        await identity.http.post(
            f"{P}/tenants", headers=headers, json={"slug": "new-one", "name": "N"}
        )
    ).status_code == 403
    # An org admin may not hand out tenant-wide roles.
    org_admin = await identity.person(t, "oa@a.test", {"welzijn": [Role.ORG_ADMIN]})
    grant = await identity.http.put(
        f"{P}/people/{pro}/memberships/welzijn",
        headers=await identity.headers_for(t, org_admin),
        json={"roles": ["tenant_admin"]},
    )
    assert grant.status_code == 403


async def test_other_tenants_resources_are_404(identity: App, two_tenants: TwoTenants) -> None:
    await identity.tenant(two_tenants.a, orgs=("org-a",))
    await identity.tenant(two_tenants.b, orgs=("org-b",))
    admin_a = await identity.person(two_tenants.a, "admin@a.test", {"org-a": [Role.TENANT_ADMIN]})
    person_b = await identity.person(two_tenants.b, "res@b.test", {"org-b": [Role.RESIDENT]})
    headers = await identity.headers_for(two_tenants.a, admin_a)

    assert (await identity.http.get(f"{P}/organisations/org-b", headers=headers)).status_code == 404
    assert (await identity.http.get(f"{P}/people/{person_b}", headers=headers)).status_code == 404
    assert (
        await identity.http.get(f"{P}/organisations/org-b/clients", headers=headers)
    ).status_code == 404
    listed = await identity.http.get(f"{P}/organisations", headers=headers)
    assert [o["slug"] for o in listed.json()["items"]] == ["org-a"]
    people = await identity.http.get(f"{P}/people", headers=headers)
    assert [p["id"] for p in people.json()["items"]] == [admin_a]


async def test_org_admin_sees_only_members_of_own_organisation(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t, orgs=("one", "two"))
    org_admin = await identity.person(t, "oa@a.test", {"one": [Role.ORG_ADMIN]})
    member = await identity.person(t, "m@a.test", {"one": [Role.PROFESSIONAL]})
    outsider = await identity.person(t, "o@a.test", {"two": [Role.PROFESSIONAL]})
    headers = await identity.headers_for(t, org_admin)
    assert (await identity.http.get(f"{P}/people/{member}", headers=headers)).status_code == 200
    assert (await identity.http.get(f"{P}/people/{outsider}", headers=headers)).status_code == 404
    assert (
        await identity.http.get(f"{P}/people?organisation=two", headers=headers)
    ).status_code == 403
    page = await identity.http.get(f"{P}/people?organisation=one&limit=1", headers=headers)
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
