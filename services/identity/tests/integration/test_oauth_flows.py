"""Authorization code + PKCE, refresh rotation, revocation, userinfo, key rotation."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from identity.domain.roles import Role
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import App
from .oauth_helpers import (
    REDIRECT,
    A,
    auth_params,
    authorization_code,
    code_of,
    exchange,
    login,
    pkce,
    public_client,
)

pytestmark = pytest.mark.integration


async def test_login_page_is_accessible_and_bilingual(
    identity: App, two_tenants: TwoTenants
) -> None:
    await identity.tenant(two_tenants.a)
    client = await public_client(identity, two_tenants.a)
    _, challenge = pkce()
    page = await identity.http.get(
        f"{A}/authorize", params=auth_params(client.client_id, challenge)
    )
    assert page.status_code == 200
    html = page.text
    assert '<html lang="nl">' in html and 'for="email"' in html and 'for="password"' in html
    assert 'for="login_code"' in html and "English" in html
    assert page.headers["x-frame-options"] == "DENY"
    english = await identity.http.get(
        f"{A}/authorize", params=auth_params(client.client_id, challenge, ui_locales="en")
    )
    assert '<html lang="en">' in english.text and "Log in" in english.text


async def test_wrong_password_is_announced_on_the_page(
    identity: App, two_tenants: TwoTenants
) -> None:
    await identity.tenant(two_tenants.a)
    client = await public_client(identity, two_tenants.a)
    await identity.person(two_tenants.a, "res@a.test", {"welzijn": [Role.RESIDENT]})
    _, challenge = pkce()
    response = await login(
        identity.http, auth_params(client.client_id, challenge), "res@a.test", "wrong-password"
    )
    assert response.status_code == 401
    assert 'role="alert"' in response.text and "klopt niet" in response.text


async def test_unregistered_redirect_uri_shows_error_page_without_redirect(
    identity: App, two_tenants: TwoTenants
) -> None:
    await identity.tenant(two_tenants.a)
    client = await public_client(identity, two_tenants.a)
    _, challenge = pkce()
    for evil in ("https://evil.example/callback", REDIRECT + "/extra", REDIRECT + "?x=1"):
        response = await identity.http.get(
            f"{A}/authorize", params=auth_params(client.client_id, challenge, redirect_uri=evil)
        )
        assert response.status_code == 400
        assert "location" not in response.headers
        assert 'role="alert"' in response.text
    unknown = await identity.http.get(f"{A}/authorize", params=auth_params("nobody.xyz", challenge))
    assert unknown.status_code == 400 and "location" not in unknown.headers
    # Known client + exact redirect URI: protocol errors go back to the client with state.
    plain = await identity.http.get(
        f"{A}/authorize",
        params=auth_params(client.client_id, challenge, code_challenge_method="plain"),
    )
    assert plain.status_code == 303
    query = parse_qs(urlsplit(plain.headers["location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["st-1"]


async def test_pkce_mismatch_and_reused_code_are_rejected(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})

    code, _ = await authorization_code(identity, client.client_id, "res@a.test")
    other_verifier, _ = pkce()
    mismatch = await exchange(identity.http, client.client_id, code, other_verifier)
    assert mismatch.status_code == 400
    assert mismatch.json()["error"] == "invalid_grant"

    code, verifier = await authorization_code(identity, client.client_id, "res@a.test")
    first = await exchange(identity.http, client.client_id, code, verifier)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    tokens = first.json()
    replay = await exchange(identity.http, client.client_id, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The replay revoked what the first redemption issued (access token and refresh family).
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await identity.http.get(f"{A}/userinfo", headers=bearer)).status_code == 401
    refresh = await identity.http.post(
        f"{A}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client.client_id,
        },
    )
    assert refresh.json()["error"] == "invalid_grant"


async def test_refresh_rotation_reuse_detection_revocation_and_userinfo(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    person = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    code, verifier = await authorization_code(identity, client.client_id, "res@a.test")
    tokens = (await exchange(identity.http, client.client_id, code, verifier)).json()

    info = await identity.http.get(
        f"{A}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 200
    assert info.json() == {
        "sub": person,
        "tenant": t,
        "roles": ["resident"],
        "orgs": {"welzijn": ["resident"]},
        "name": "Person res@a.test",
        "email": "res@a.test",
    }

    def refresh(token: str):  # type: ignore[no-untyped-def]
        return identity.http.post(
            f"{A}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": token,
                "client_id": client.client_id,
            },
        )

    rotated = await refresh(tokens["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != tokens["refresh_token"]

    reuse = await refresh(tokens["refresh_token"])  # the old one, copied by an attacker
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    # Reuse revoked the family: the legitimate newer token is dead too, and so is its access.
    assert (await refresh(second["refresh_token"])).json()["error"] == "invalid_grant"
    assert (
        await identity.http.get(
            f"{A}/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"}
        )
    ).status_code == 401

    # Revocation (RFC 7009) of a fresh grant's refresh token.
    code, verifier = await authorization_code(identity, client.client_id, "res@a.test")
    fresh = (await exchange(identity.http, client.client_id, code, verifier)).json()
    revoked = await identity.http.post(
        f"{A}/revoke", data={"token": fresh["refresh_token"], "client_id": client.client_id}
    )
    assert revoked.status_code == 200
    assert (await refresh(fresh["refresh_token"])).json()["error"] == "invalid_grant"
    unknown = await identity.http.post(
        f"{A}/revoke", data={"token": "garbage", "client_id": client.client_id}
    )
    assert unknown.status_code == 200

    # Revoking an access token: identity's own endpoints refuse it afterwards.
    code, verifier = await authorization_code(identity, client.client_id, "res@a.test")
    access = (await exchange(identity.http, client.client_id, code, verifier)).json()[
        "access_token"
    ]
    bearer = {"Authorization": f"Bearer {access}"}
    assert (await identity.http.get("/identity/v1/me", headers=bearer)).status_code == 200
    await identity.http.post(f"{A}/revoke", data={"token": access, "client_id": client.client_id})
    assert (await identity.http.get("/identity/v1/me", headers=bearer)).status_code == 401


async def test_token_endpoint_errors_use_rfc6749_format(
    identity: App, two_tenants: TwoTenants
) -> None:
    await identity.tenant(two_tenants.a)
    client = await public_client(identity, two_tenants.a)
    password = await identity.http.post(
        f"{A}/token",
        data={
            "grant_type": "password",
            "username": "x",
            "password": "y",
            "client_id": client.client_id,
        },
    )
    assert password.status_code == 400
    assert password.json()["error"] == "unsupported_grant_type"
    unknown = await identity.http.post(
        f"{A}/token",
        data={"grant_type": "client_credentials", "client_id": "nobody.abc", "client_secret": "x"},
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    as_json = await identity.http.post(f"{A}/token", json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


async def test_token_signed_by_previous_key_verifies_until_the_key_is_retired(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    person = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    old = await identity.headers_for(t, person)
    keys = identity.ctx.keys
    no_wait = {"min_published": timedelta(0), "keep_retired_for": timedelta(hours=1)}

    assert "published next key" in (await keys.rotate(**no_wait))[0]
    jwks = (await identity.http.get("/identity/v1/.well-known/jwks.json")).json()
    # The access tokens' algorithm: the active key and the next one (RS256 rotates beside it).
    assert len([k for k in jwks["keys"] if k["alg"] == "ES256"]) == 2
    assert "promoted" in (await keys.rotate(**no_wait))[0]
    new = await identity.headers_for(t, person)
    assert old != new
    assert (await identity.http.get("/identity/v1/me", headers=old)).status_code == 200
    assert (await identity.http.get("/identity/v1/me", headers=new)).status_code == 200

    # Next rotation step prunes retired keys older than keep_retired_for (here: at once).
    await keys.rotate(min_published=timedelta(0), keep_retired_for=timedelta(0))
    assert (await identity.http.get("/identity/v1/me", headers=old)).status_code == 401
    assert (await identity.http.get("/identity/v1/me", headers=new)).status_code == 200


async def test_discovery_document(identity: App) -> None:
    doc = (await identity.http.get("/identity/v1/.well-known/openid-configuration")).json()
    assert doc["issuer"] == "http://identity.test/identity/v1"
    assert doc["token_endpoint"] == "http://identity.test/identity/v1/oauth/token"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in doc["grant_types_supported"]


_ = (REDIRECT, code_of)
