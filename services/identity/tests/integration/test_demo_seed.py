"""The demo seed is idempotent, and the demo clients work under their plain names."""

from __future__ import annotations

import pytest
from identity.demo_seed import seed_with

from .conftest import App
from .oauth_helpers import auth_params, code_of, exchange, pkce, submit_login

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
