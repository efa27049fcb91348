"""A standard OAuth/OIDC client library (Authlib's httpx2 client) completes the flows; the
access token verifies with wijkkracht_common's TokenVerifier against the JWKS endpoint."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from identity.domain.roles import Role
from wijkkracht_common.auth import JwksCache, TokenVerifier
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import ISSUER, PASSWORD, App
from .oauth_helpers import REDIRECT, confidential_client, csrf_token_of, public_client

pytestmark = pytest.mark.integration

BASE = "http://identity.test/identity/v1"


def verifier_over_http(app: App) -> TokenVerifier:
    async def fetch() -> dict[str, Any]:
        response = await app.http.get("/identity/v1/.well-known/jwks.json")
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    return TokenVerifier(JwksCache(fetch), issuer=ISSUER, audience="wijkkracht-api")


async def test_authlib_authorization_code_with_pkce(identity: App, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    person = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    discovery = (await identity.http.get("/identity/v1/.well-known/openid-configuration")).json()

    async with AsyncOAuth2Client(
        client_id=client.client_id,
        redirect_uri=REDIRECT,
        scope="openid profile email",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        transport=httpx2.ASGITransport(identity.app),
    ) as oauth:
        code_verifier = generate_token(48)
        url, state = oauth.create_authorization_url(
            discovery["authorization_endpoint"], code_verifier=code_verifier
        )
        page = await oauth.request("GET", url, withhold_token=True)
        assert page.status_code == 200 and 'name="password"' in page.text
        form = {k: v for k, v in httpx2.URL(url).params.multi_items()}
        # The browser part: the page's hidden CSRF field, its cookie kept by the client.
        form["csrf_token"] = csrf_token_of(page)
        login = await oauth.request(
            "POST",
            discovery["authorization_endpoint"],
            data={**form, "email": "res@a.test", "password": PASSWORD},
            withhold_token=True,
        )
        assert login.status_code == 303
        callback = login.headers["location"]
        assert callback.startswith(REDIRECT)
        token = await oauth.fetch_token(
            discovery["token_endpoint"],
            authorization_response=callback,
            code_verifier=code_verifier,
            state=state,
        )
        assert token["token_type"] == "Bearer" and "id_token" in token
        userinfo = await oauth.get(discovery["userinfo_endpoint"])
        assert userinfo.status_code == 200 and userinfo.json()["sub"] == person

    principal = await verifier_over_http(identity).verify(token["access_token"])
    assert principal.subject == person and principal.tenant == t
    assert principal.orgs == {"welzijn": frozenset({"resident"})}
    assert principal.client_id == client.client_id


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_authlib_client_credentials(
    identity: App, two_tenants: TwoTenants, auth_method: str
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client_id, secret = await confidential_client(identity, t)
    async with AsyncOAuth2Client(
        client_id=client_id,
        client_secret=secret,
        token_endpoint_auth_method=auth_method,
        transport=httpx2.ASGITransport(identity.app),
    ) as oauth:
        token = await oauth.fetch_token(f"{BASE}/oauth/token", grant_type="client_credentials")
    assert "refresh_token" not in token
    principal = await verifier_over_http(identity).verify(token["access_token"])
    assert principal.subject == f"client:{client_id}" and principal.person_id is None
    assert principal.roles == frozenset() and principal.orgs == {"welzijn": frozenset({"service"})}
    assert principal.scopes == {"effects.read", "questionnaires.read"}

    wrong_basic = await identity.http.post(
        f"{BASE}/oauth/token", auth=(client_id, "wrong"), data={"grant_type": "client_credentials"}
    )
    assert wrong_basic.status_code == 401 and wrong_basic.json()["error"] == "invalid_client"
    assert wrong_basic.headers["www-authenticate"].startswith("Basic")
    wrong_post = await identity.http.post(
        f"{BASE}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong"},
    )
    assert wrong_post.status_code == 401 and wrong_post.json()["error"] == "invalid_client"
