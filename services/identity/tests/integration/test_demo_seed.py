"""The demo seed is idempotent, and the demo clients work under their plain names."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from identity.demo_seed import BROKER_ID, OFFLINE_RESIDENT_ID, seed_with
from identity.settings import DEMO_PASSWORD, Settings
from pydantic import SecretStr

from .conftest import App, running
from .oauth_helpers import A, auth_params, code_of, exchange, pkce, submit_login

pytestmark = pytest.mark.integration


async def test_demo_seed_is_idempotent_and_demo_clients_work(identity: App) -> None:
    first = await seed_with(identity.ctx)
    second = await seed_with(identity.ctx)
    assert "8 new" in first and "0 new" in second

    cc = await identity.http.post(
        "/identity/v1/oauth/token",
        auth=("demo-backend", "demo-backend-secret"),
        data={"grant_type": "client_credentials"},
    )
    assert cc.status_code == 200, cc.text
    machine = {"Authorization": f"Bearer {cc.json()['access_token']}"}
    orgs = await identity.http.get("/identity/v1/organisations", headers=machine)
    assert orgs.status_code == 200
    assert {o["slug"] for o in orgs.json()["items"]} == {"welzijn-demo", "gemeente-demo"}

    verifier, challenge = pkce()
    params = auth_params("demo-frontend", challenge)
    login = await submit_login(
        identity.http, params, {"email": "inwoner@demo.test", "password": "wijkkracht-demo"}
    )
    tokens = await exchange(identity.http, "demo-frontend", code_of(login), verifier)
    assert tokens.status_code == 200
    profile = await identity.http.get(
        "/identity/v1/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert profile.json()["neighbourhood_code"] == "DM02"
    assert profile.json()["memberships"] == [
        {"organisation": "welzijn-demo", "roles": ["resident"], "team": None}
    ]


async def test_demo_editor_broker_and_a_resident_who_is_not_online(identity: App) -> None:
    await seed_with(identity.ctx)
    bearers: dict[str, dict[str, str]] = {}
    for email, roles in (
        ("redacteur@demo.test", ["content_editor"]),
        ("makelaar@demo.test", ["broker", "professional"]),
    ):
        verifier, challenge = pkce()
        login = await submit_login(
            identity.http,
            auth_params("demo-frontend", challenge),
            {"email": email, "password": DEMO_PASSWORD},
        )
        tokens = await exchange(identity.http, "demo-frontend", code_of(login), verifier)
        bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        claims = (await identity.http.get("/identity/v1/me/token", headers=bearer)).json()
        assert claims["orgs"] == {"welzijn-demo": roles}, email
        bearers[email] = bearer
    broker = bearers["makelaar@demo.test"]

    repos = await identity.ctx.tenant("demo")
    piet = await repos.people.get(OFFLINE_RESIDENT_ID)
    assert piet is not None and piet.email is None and piet.password_hash is None
    assert piet.neighbourhood_code == "DM01"
    caseload = await identity.http.get(
        "/identity/v1/organisations/welzijn-demo/caseload",
        headers=broker,
        params={"purpose": "marketplace_broker"},
    )
    assert caseload.status_code == 200
    (line,) = caseload.json()["items"]
    assert (line["id"], line["display_name"]) == (OFFLINE_RESIDENT_ID, "Piet Pieters")
    assert line["purposes"] == ["marketplace_broker", "share_results"]
    ledger = await repos.consents.get(OFFLINE_RESIDENT_ID)
    makelaar = await repos.people.by_email("makelaar@demo.test")
    assert makelaar is not None and {e.by for e in ledger.entries} == {makelaar.id}
    assert makelaar.id == BROKER_ID  # the marketplace's demo posts name him

    # He withdraws (through the broker); seeding again must not grant it back.
    withdrawn = await identity.http.delete(
        f"/identity/v1/people/{OFFLINE_RESIDENT_ID}/consents/welzijn-demo/marketplace_broker",
        headers=broker,
    )
    assert withdrawn.status_code == 200
    await seed_with(identity.ctx)
    again = await identity.http.get(
        "/identity/v1/organisations/welzijn-demo/caseload",
        headers=broker,
        params={"purpose": "marketplace_broker"},
    )
    assert again.json()["items"] == []


PORTAL = "http://127.0.0.1:18080"


async def _portal_login(app: App, base: str, secret: str) -> httpx.Response:
    """The portal's code flow: PKCE, then the code exchanged with HTTP Basic."""
    verifier, challenge = pkce()
    params = auth_params(
        "portal",
        challenge,
        redirect_uri=f"{base}/callback",
        scope="openid profile email offline_access",
    )
    page = await app.http.get(f"{A}/authorize", params=params)
    assert page.status_code == 200, page.text
    assert f"form-action 'self' {base}" in page.headers["content-security-policy"]
    login = await submit_login(
        app.http, params, {"email": "inwoner@demo.test", "password": DEMO_PASSWORD}
    )
    assert login.headers["location"].startswith(f"{base}/callback?")
    return await app.http.post(
        f"{A}/token",
        auth=("portal", secret),
        data={
            "grant_type": "authorization_code",
            "code": code_of(login),
            "redirect_uri": f"{base}/callback",
            "code_verifier": verifier,
        },
    )


async def test_the_portal_client_is_registered_and_follows_its_secret_and_url(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(portal_client_secret="first-secret", portal_public_url=PORTAL + "/")
    async with running(settings) as app:
        assert "portal client created" in await seed_with(app.ctx)
        assert "portal client same" in await seed_with(app.ctx)

        tokens = await _portal_login(app, PORTAL, "first-secret")
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        assert {"access_token", "refresh_token", "id_token"} <= set(body)
        refreshed = await app.http.post(
            f"{A}/token",
            auth=("portal", "first-secret"),
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        )
        assert refreshed.status_code == 200, refreshed.text
        # PKCE is required: a request without a code challenge goes back with an error.
        no_pkce = await app.http.get(
            f"{A}/authorize",
            params={
                "client_id": "portal",
                "redirect_uri": f"{PORTAL}/callback",
                "response_type": "code",
                "scope": "openid",
                "state": "s",
            },
        )
        assert no_pkce.status_code == 303 and "error=invalid_request" in no_pkce.headers["location"]
        # Logout may return to the portal's front page.
        out = await app.http.get(
            f"{A}/logout",
            params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": f"{PORTAL}/"},
        )
        assert out.status_code == 303 and out.headers["location"].startswith(f"{PORTAL}/")

        # The next start with another secret and URL updates the client.
        moved = "http://127.0.0.1:18081"
        app.ctx.settings = settings.model_copy(
            update={
                "portal_client_secret": SecretStr("second-secret"),
                "portal_public_url": moved,
            }
        )
        assert "portal client updated" in await seed_with(app.ctx)
        assert (await _portal_login(app, moved, "second-secret")).status_code == 200
        old_secret = await _portal_login(app, moved, "first-secret")
        assert old_secret.status_code == 401 and old_secret.json()["error"] == "invalid_client"
        old_url = await app.http.get(
            f"{A}/authorize",
            params=auth_params("portal", pkce()[1], redirect_uri=f"{PORTAL}/callback"),
        )
        assert old_url.status_code == 400


async def test_without_a_portal_secret_no_portal_client_is_registered(identity: App) -> None:
    assert "not registered" in await seed_with(identity.ctx)
    registry = (await identity.ctx.platform()).tenants
    assert await registry.tenant_of_client_name("portal") is None
