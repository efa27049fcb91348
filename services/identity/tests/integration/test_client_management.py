"""API client management: disable/enable, secret rotation, redirect URIs and origins,
tenant and organisation isolation."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager
from identity.adapters.repositories import MongoRepositories
from identity.domain.roles import Role
from identity.main import create_app
from identity.settings import Settings
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

from .conftest import App, running
from .oauth_helpers import REDIRECT, A, auth_params, confidential_client, pkce, public_client

pytestmark = pytest.mark.integration

P = "/identity/v1"


async def _cc_token(app: App, client_id: str, secret: str) -> int:
    response = await app.http.post(
        f"{A}/token", auth=(client_id, secret), data={"grant_type": "client_credentials"}
    )
    if response.status_code != 200:
        assert response.json()["error"] == "invalid_client"
    return response.status_code


async def test_disable_enable_and_rotate_a_confidential_client(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    admin = await identity.person(t, "oa@a.test", {"welzijn": [Role.ORG_ADMIN]})
    headers = await identity.headers_for(t, admin)
    client_id, secret = await confidential_client(identity, t)
    url = f"{P}/organisations/welzijn/clients/{client_id}"
    assert await _cc_token(identity, client_id, secret) == 200  # now cached by the endpoint

    disabled = await identity.http.patch(url, headers=headers, json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert await _cc_token(identity, client_id, secret) == 401  # cache evicted
    assert (await identity.http.get(url, headers=headers)).json()["disabled"] is True
    enabled = await identity.http.patch(url, headers=headers, json={"disabled": False})
    assert enabled.json()["disabled"] is False
    assert await _cc_token(identity, client_id, secret) == 200

    rotated = await identity.http.post(f"{url}/secret", headers=headers)
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new_secret = rotated.json()["client_secret"]
    assert new_secret and new_secret != secret
    assert await _cc_token(identity, client_id, secret) == 401
    assert await _cc_token(identity, client_id, new_secret) == 200
    listed = await identity.http.get(f"{P}/organisations/welzijn/clients", headers=headers)
    assert all("client_secret" not in c for c in listed.json()["items"])


async def test_redirect_uris_and_origins_of_a_public_client(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    admin = await identity.person(t, "ta@a.test", {"welzijn": [Role.TENANT_ADMIN]})
    headers = await identity.headers_for(t, admin)
    client = await public_client(identity, t)
    url = f"{P}/organisations/welzijn/clients/{client.client_id}"

    no_secret = await identity.http.post(f"{url}/secret", headers=headers)
    assert no_secret.status_code == 409
    plain_http = await identity.http.patch(
        url, headers=headers, json={"redirect_uris": ["http://app.example/cb"]}
    )
    assert plain_http.status_code == 422
    assert plain_http.json()["errors"][0]["field"] == "redirect_uris"
    none_left = await identity.http.patch(url, headers=headers, json={"redirect_uris": []})
    assert none_left.status_code == 422
    bad_origin = await identity.http.patch(
        url, headers=headers, json={"allowed_origins": ["https://app.example/path"]}
    )
    assert bad_origin.status_code == 422

    new_redirect = "https://app.example/callback"
    updated = await identity.http.patch(
        url,
        headers=headers,
        json={"redirect_uris": [new_redirect], "allowed_origins": ["https://app.example"]},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["redirect_uris"] == [new_redirect]
    origins = await MongoRepositories(await identity.ctx.platform_db()).origins.all()
    assert "https://app.example" in origins and "http://localhost:8080" not in origins

    _, challenge = pkce()
    old = await identity.http.get(f"{A}/authorize", params=auth_params(client.client_id, challenge))
    assert old.status_code == 400  # the old redirect URI is no longer registered
    new = await identity.http.get(
        f"{A}/authorize", params=auth_params(client.client_id, challenge, redirect_uri=new_redirect)
    )
    assert new.status_code == 200
    await identity.http.patch(url, headers=headers, json={"disabled": True})
    gone = await identity.http.get(
        f"{A}/authorize", params=auth_params(client.client_id, challenge, redirect_uri=new_redirect)
    )
    assert gone.status_code == 400
    assert REDIRECT not in gone.headers.get("location", "")


async def test_other_tenants_and_organisations_cannot_touch_a_client(
    identity: App, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a, two_tenants.b
    await identity.tenant(a, orgs=("welzijn", "elders"))
    await identity.tenant(b)
    client_id, secret = await confidential_client(identity, a)
    url = f"{P}/organisations/welzijn/clients/{client_id}"

    admin_b = await identity.person(b, "ta@b.test", {"welzijn": [Role.TENANT_ADMIN]})
    hb = await identity.headers_for(b, admin_b)
    for call in (
        identity.http.get(url, headers=hb),
        identity.http.patch(url, headers=hb, json={"disabled": True}),
        identity.http.post(f"{url}/secret", headers=hb),
    ):
        assert (await call).status_code == 404
    other_org = await identity.person(a, "oa@elders.test", {"elders": [Role.ORG_ADMIN]})
    ho = await identity.headers_for(a, other_org)
    assert (await identity.http.patch(url, headers=ho, json={"disabled": True})).status_code == 403
    wrong_org = f"{P}/organisations/elders/clients/{client_id}"
    assert (await identity.http.post(f"{wrong_org}/secret", headers=ho)).status_code == 404
    pro = await identity.person(a, "pro@a.test", {"welzijn": [Role.PROFESSIONAL]})
    hp = await identity.headers_for(a, pro)
    assert (await identity.http.post(f"{url}/secret", headers=hp)).status_code == 403

    assert await _cc_token(identity, client_id, secret) == 200  # untouched


async def test_a_disabled_client_is_refused_by_a_replica_that_cached_it(
    settings_factory: Callable[..., Settings], two_tenants: TwoTenants
) -> None:
    """The disable is announced (`client_disabled`); every replica's token endpoint drops its
    cached copy of the client on that event, not only after `client_cache_seconds`."""
    settings = settings_factory(client_cache_seconds=3600.0)
    async with running(settings) as first:
        second_app = create_app(settings)
        async with (
            LifespanManager(second_app, startup_timeout=60, shutdown_timeout=60),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(second_app), base_url="http://identity.test"
            ) as http,
        ):
            second = App(second_app, http)
            t = two_tenants.a
            await first.tenant(t)
            admin = await first.person(t, "oa@a.test", {"welzijn": [Role.ORG_ADMIN]})
            client_id, secret = await confidential_client(first, t)
            assert await _cc_token(second, client_id, secret) == 200  # cached by the second

            headers = await first.headers_for(t, admin)
            url = f"{P}/organisations/welzijn/clients/{client_id}"
            assert (await first.http.patch(url, headers=headers, json={"disabled": True})).json()[
                "disabled"
            ]

            async def refused() -> bool:
                return await _cc_token(second, client_id, secret) == 401

            await eventually(refused, interval=0.2)
