"""OpenID Connect under outside validators (issue 15): discovery valid for Authlib's
OpenID Provider and RFC 8414 metadata validators, RS256 offered (ID tokens for clients that
registered it, the key sealed at rest like the ES256 one), token introspection (RFC 7662)
for confidential clients, and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)
that revokes the login's tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from identity.domain.api_clients import ApiClient, GrantType
from identity.domain.jwt_tokens import id_token_claims, sign
from identity.domain.roles import Role
from identity.service import clients
from identity.settings import Settings
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from wijkkracht_common.storage import Storage
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

from .conftest import App, running
from .oauth_helpers import (
    REDIRECT,
    A,
    auth_params,
    authorization_code,
    code_of,
    confidential_client,
    exchange,
    login,
    pkce,
    public_client,
)

pytestmark = pytest.mark.integration

P = "/identity/v1"
LOGGED_OUT = "http://localhost:8080/logged-out"


def header_of(token: str) -> dict[str, Any]:
    return dict(extract_compact(token.encode()).protected)


def claims_of(token: str) -> dict[str, Any]:
    return dict(json.loads(extract_compact(token.encode()).payload))


async def logout_client(app: App, tenant: str, *, alg: str = "ES256") -> ApiClient:
    client, _ = await clients.create_client(
        app.ctx,
        tenant,
        organisation="welzijn",
        name="Wijkapp",
        confidential=False,
        scopes=["openid", "profile", "email"],
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[LOGGED_OUT, LOGGED_OUT + "?from=app"],
        id_token_signed_response_alg=alg,  # type: ignore[arg-type]
    )
    return client


async def tokens_of(app: App, client: ApiClient, email: str) -> dict[str, Any]:
    code, verifier = await authorization_code(app, client.client_id, email)
    response = await exchange(app.http, client.client_id, code, verifier)
    assert response.status_code == 200, response.text
    return dict(response.json())


# ---- discovery and keys ----------------------------------------------------------------------


async def test_discovery_passes_authlibs_validators_and_rs256_is_offered(
    settings_factory: Callable[..., Settings],
) -> None:
    issuer = "https://identity.test/identity/v1"
    settings = settings_factory(issuer=issuer)
    async with running(settings) as app:
        doc = (await app.http.get(f"{P}/.well-known/openid-configuration")).json()
        jwks = (await app.http.get(f"{P}/.well-known/jwks.json")).json()
        active = {k.alg for k in (await app.ctx.keys.current()).keys}
        storage = Storage(settings.mongo_url, settings.service_name)
        try:
            stored = await (await storage.platform_db())["signing_keys"].find({}).to_list(None)
        finally:
            storage.close()

    OpenIDProviderMetadata(doc).validate()  # RS256 MUST be offered
    AuthorizationServerMetadata(doc).validate()  # RFC 8414: revocation, introspection too
    assert doc["id_token_signing_alg_values_supported"] == ["ES256", "RS256"] == sorted(active)
    assert doc["end_session_endpoint"] == f"{issuer}/oauth/logout"
    assert doc["introspection_endpoint"] == f"{issuer}/oauth/introspect"
    assert is_secure_transport(doc["end_session_endpoint"])
    assert doc["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]

    # The JWKS publishes both keys, public parts only.
    assert {(k["kty"], k["alg"], k["use"]) for k in jwks["keys"]} == {
        ("EC", "ES256", "sig"),
        ("RSA", "RS256", "sig"),
    }
    assert not any("d" in k or "p" in k for k in jwks["keys"])
    # Each algorithm's set is stored on its own, every private key sealed with the KEK.
    assert sorted(d["_id"] for d in stored) == ["keyset", "keyset-rs256"]
    for doc_ in stored:
        assert all("private_jwk" not in k and "sealed_private_jwk" in k for k in doc_["keys"])
    text = json.dumps(stored, default=str)
    assert '"d"' not in text and '"p"' not in text


async def test_rs256_id_tokens_for_a_client_that_registered_the_algorithm(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    admin = await identity.person(t, "oa@a.test", {"welzijn": [Role.ORG_ADMIN]})
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    created = await identity.http.post(
        f"{P}/organisations/welzijn/clients",
        headers=await identity.headers_for(t, admin),
        json={
            "name": "RP",
            "client_type": "public",
            "scopes": ["openid", "profile", "email"],
            "redirect_uris": [REDIRECT],
            "post_logout_redirect_uris": [LOGGED_OUT],
            "id_token_signed_response_alg": "RS256",
        },
    )
    assert created.status_code == 201, created.text
    registered = created.json()
    assert registered["id_token_signed_response_alg"] == "RS256"
    assert registered["post_logout_redirect_uris"] == [LOGGED_OUT]
    repos = await identity.ctx.tenant(t)
    stored = await repos.clients.get(registered["client_id"])
    assert stored is not None

    tokens = await tokens_of(identity, stored, "res@a.test")
    jwks = KeySet.import_key_set(
        (await identity.http.get(f"{P}/.well-known/jwks.json")).json()  # type: ignore[arg-type]
    )
    assert header_of(tokens["id_token"])["alg"] == "RS256"
    decoded = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": identity.ctx.policy.issuer},
        aud={"essential": True, "value": stored.client_id},
        sub={"essential": True},
        sid={"essential": True},
    ).validate(decoded.claims)
    # Access tokens stay ES256 (every service verifies them), and so do ID tokens of
    # clients that did not ask for RS256.
    assert header_of(tokens["access_token"])["alg"] == "ES256"
    default = await tokens_of(identity, await public_client(identity, t), "res@a.test")
    assert header_of(default["id_token"])["alg"] == "ES256"

    refused = await identity.http.post(
        f"{P}/organisations/welzijn/clients",
        headers=await identity.headers_for(t, admin),
        json={"name": "RP", "client_type": "public", "id_token_signed_response_alg": "HS256"},
    )
    assert refused.status_code == 422


# ---- introspection (RFC 7662) ------------------------------------------------------------------


async def test_introspection_for_confidential_clients(
    identity: App, two_tenants: TwoTenants
) -> None:
    t, other = two_tenants.a, two_tenants.b
    for tenant in (t, other):
        await identity.tenant(tenant)
    app_client = await public_client(identity, t)
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    resource_server = await confidential_client(identity, t)
    foreign_server = await confidential_client(identity, other)
    tokens = await tokens_of(identity, app_client, "res@a.test")

    async def introspect(token: str, auth: tuple[str, str] | None, **form: str) -> httpx.Response:
        return await identity.http.post(f"{A}/introspect", auth=auth, data={"token": token, **form})

    active = await introspect(tokens["access_token"], resource_server)
    assert active.status_code == 200 and active.headers["cache-control"] == "no-store"
    body = active.json()
    assert body["active"] is True and body["token_type"] == "Bearer"
    assert body["client_id"] == app_client.client_id and body["tenant"] == t
    assert body["sub"] == claims_of(tokens["access_token"])["sub"]
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    assert body["exp"] > body["iat"]
    # client_secret_post works as well
    posted = await introspect(
        tokens["access_token"],
        None,
        client_id=resource_server[0],
        client_secret=resource_server[1],
        token_type_hint="access_token",
    )
    assert posted.json()["active"] is True

    inactive = {"active": False}
    assert (await introspect("garbage", resource_server)).json() == inactive
    # another tenant's resource server learns nothing about this tenant's tokens
    assert (await introspect(tokens["access_token"], foreign_server)).json() == inactive
    # a refresh token only to the client it was issued to (a public one: not allowed here)
    assert (await introspect(tokens["refresh_token"], resource_server)).json() == inactive

    # Only authenticated confidential clients: a public client, a wrong secret, nobody.
    public = await identity.http.post(
        f"{A}/introspect", data={"token": tokens["access_token"], "client_id": app_client.client_id}
    )
    assert public.status_code == 401 and public.json()["error"] == "invalid_client"
    wrong = await introspect(tokens["access_token"], (resource_server[0], "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    anonymous = await introspect(tokens["access_token"], None)
    assert anonymous.status_code == 401
    missing = await identity.http.post(f"{A}/introspect", auth=resource_server, data={})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"

    # Revoked (RFC 7009): inactive from then on.
    await identity.http.post(
        f"{A}/revoke", data={"token": tokens["access_token"], "client_id": app_client.client_id}
    )
    assert (await introspect(tokens["access_token"], resource_server)).json() == inactive


async def test_a_confidential_client_introspects_its_own_refresh_token(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    client, secret = await clients.create_client(
        identity.ctx,
        t,
        organisation="welzijn",
        name="Server-side app",
        confidential=True,
        scopes=["openid", "profile"],
        redirect_uris=[REDIRECT],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    )
    assert secret is not None
    verifier, challenge = pkce()
    params = auth_params(client.client_id, challenge, scope="openid profile")
    code = code_of(await login(identity.http, params, "res@a.test"))
    exchanged = await identity.http.post(
        f"{A}/token",
        auth=(client.client_id, secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    refresh = exchanged.json()["refresh_token"]
    body = (
        await identity.http.post(
            f"{A}/introspect", auth=(client.client_id, secret), data={"token": refresh}
        )
    ).json()
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert body["client_id"] == client.client_id and body["scope"] == "openid profile"
    rotated = await identity.http.post(
        f"{A}/token",
        auth=(client.client_id, secret),
        data={"grant_type": "refresh_token", "refresh_token": refresh},
    )
    assert rotated.status_code == 200
    used = await identity.http.post(
        f"{A}/introspect", auth=(client.client_id, secret), data={"token": refresh}
    )
    assert used.json() == {"active": False}


# ---- RP-initiated logout -------------------------------------------------------------------------


async def test_rp_initiated_logout_revokes_the_login_and_returns_with_state(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    client = await logout_client(identity, t)
    tokens = await tokens_of(identity, client, "res@a.test")
    other_login = await tokens_of(identity, client, "res@a.test")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await identity.http.get(f"{P}/me/token", headers=bearer)).status_code == 200

    out = await identity.http.get(
        f"{A}/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": LOGGED_OUT + "?from=app",
            "state": "st-9",
        },
    )
    assert out.status_code == 303
    location = urlsplit(out.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == LOGGED_OUT
    assert parse_qs(location.query) == {"from": ["app"], "state": ["st-9"]}

    # The login's refresh token is revoked, and its access token refused: at once by
    # identity's own endpoints (deny-list), within seconds by its verifier (the event).
    refreshed = await identity.http.post(
        f"{A}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client.client_id,
        },
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert (await identity.http.get(f"{P}/me", headers=bearer)).status_code == 401

    async def refused() -> bool:
        response = await identity.http.get(f"{P}/me/token", headers=bearer)
        return response.status_code == 401

    assert await eventually(refused)
    # Only that login ended: the person's other login at the same app goes on.
    again = await identity.http.post(
        f"{A}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": other_login["refresh_token"],
            "client_id": client.client_id,
        },
    )
    assert again.status_code == 200

    # Logging out again with the same (now used) hint is harmless: the page, no error.
    repeated = await identity.http.post(
        f"{A}/logout", data={"id_token_hint": tokens["id_token"], "ui_locales": "en"}
    )
    assert repeated.status_code == 200 and "logged out" in repeated.text


async def test_logout_never_redirects_where_the_client_did_not_register(
    identity: App, two_tenants: TwoTenants
) -> None:
    t, other = two_tenants.a, two_tenants.b
    for tenant in (t, other):
        await identity.tenant(tenant)
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    client = await logout_client(identity, t)
    foreign = await logout_client(identity, other)
    tokens = await tokens_of(identity, client, "res@a.test")
    hint = tokens["id_token"]

    async def refused(**params: str) -> None:
        response = await identity.http.get(f"{A}/logout", params=params)
        assert response.status_code == 400, (params, response.text[:200])
        assert "location" not in response.headers
        assert 'role="alert"' in response.text

    await refused(id_token_hint=hint, post_logout_redirect_uri="https://evil.example/out")
    await refused(id_token_hint=hint, post_logout_redirect_uri=LOGGED_OUT + "/more")
    await refused(post_logout_redirect_uri=LOGGED_OUT)  # no client named
    await refused(id_token_hint=hint, client_id=foreign.client_id)  # hint of another client
    await refused(id_token_hint=tokens["access_token"])  # an access token is no ID token
    forged = hint[:-6] + ("AAAAAA" if not hint.endswith("AAAAAA") else "BBBBBB")
    await refused(id_token_hint=forged, post_logout_redirect_uri=LOGGED_OUT)
    # nothing was revoked by the refused requests
    refreshed = await identity.http.post(
        f"{A}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client.client_id,
        },
    )
    assert refreshed.status_code == 200

    # Without a hint a registered URI of the named client is fine (nothing to revoke); with
    # no parameters at all, our own page.
    back = await identity.http.get(
        f"{A}/logout",
        params={"client_id": client.client_id, "post_logout_redirect_uri": LOGGED_OUT},
    )
    assert back.status_code == 303 and back.headers["location"] == LOGGED_OUT
    page = await identity.http.get(f"{A}/logout")
    assert page.status_code == 200 and 'role="status"' in page.text and 'lang="nl"' in page.text


async def test_an_expired_id_token_hint_still_ends_the_login(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    person = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    client = await logout_client(identity, t)
    tokens = await tokens_of(identity, client, "res@a.test")
    sid = claims_of(tokens["id_token"])["sid"]
    long_ago = identity.ctx.now() - timedelta(hours=2)
    expired = sign(
        id_token_claims(
            issuer=identity.ctx.policy.issuer,
            subject=person,
            client_id=client.client_id,
            now=long_ago,
            lifetime=timedelta(minutes=15),
            auth_time=long_ago,
            nonce=None,
            tenant=t,
            sid=sid,
        ),
        await identity.ctx.keys.current(),
    )
    out = await identity.http.get(f"{A}/logout", params={"id_token_hint": expired})
    assert out.status_code == 200
    refreshed = await identity.http.post(
        f"{A}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client.client_id,
        },
    )
    assert refreshed.json()["error"] == "invalid_grant"
