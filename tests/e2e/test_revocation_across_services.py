"""Revocation that every service honours (issue 15), on the platform as `make run` starts it:
an access token revoked at identity (RFC 7009), or the login an app ends with RP-initiated
logout, is refused by questionnaires within seconds — not only by identity, and not only once
the token expires. Questionnaires verifies tokens locally (JWKS); it learns of the revocation
from identity's `access_token_revoked` event."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from .conftest import DEMO_PASSWORD, REDIRECT, Platform, _LoginForm, launch, login

pytestmark = pytest.mark.e2e

IDENTITY, QUESTIONNAIRES = 1, 2


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with launch(tmp_path_factory.mktemp("revocation")) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def instruments_status(platform: Platform, token: str) -> int:
    response = httpx.get(
        platform.api(QUESTIONNAIRES, "/instruments"), headers=bearer(token), timeout=10
    )
    return response.status_code


def within_seconds(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until `condition()` holds (bounded; the bound leaves room for a busy machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def login_tokens(platform: Platform, email: str, client_id: str = "demo-frontend") -> Any:
    """Like `conftest.login`, but the whole token response (ID and refresh token too)."""
    discovery = httpx.get(platform.api(IDENTITY, "/.well-known/openid-configuration"), timeout=15)
    endpoints = discovery.json()
    with OAuth2Client(
        client_id=client_id,
        redirect_uri=REDIRECT,
        scope="openid profile email offline_access",
        code_challenge_method="S256",
        timeout=15,
    ) as oauth:
        verifier = generate_token(48)
        uri, _ = oauth.create_authorization_url(
            endpoints["authorization_endpoint"], code_verifier=verifier
        )
        page = oauth.request("GET", uri, withhold_token=True)
        assert page.status_code == 200, page.text
        form = _LoginForm()
        form.feed(page.text)
        data = {f["name"]: f.get("value", "") for f in form.inputs if f.get("type") == "hidden"}
        data.update({"email": email, "password": DEMO_PASSWORD})
        posted = oauth.request(
            "POST", urljoin(uri, form.action or uri), data=data, withhold_token=True
        )
        assert posted.status_code in (302, 303), posted.text[:500]
        return oauth.fetch_token(
            endpoints["token_endpoint"],
            authorization_response=posted.headers["location"],
            code_verifier=verifier,
        )


def test_a_revoked_access_token_is_refused_by_questionnaires_within_seconds(
    platform: Platform,
) -> None:
    token = login(platform, "inwoner@demo.test")
    # Accepted (and now in questionnaires' verified-token cache).
    assert instruments_status(platform, token) == 200
    assert instruments_status(platform, token) == 200

    revoked = httpx.post(
        platform.api(IDENTITY, "/oauth/revoke"),
        data={"token": token, "client_id": "demo-frontend"},
        timeout=10,
    )
    assert revoked.status_code == 200

    me = httpx.get(platform.api(IDENTITY, "/me"), headers=bearer(token), timeout=10)
    assert me.status_code == 401  # identity: at once
    within_seconds(
        lambda: instruments_status(platform, token) == 401,
        "questionnaires refusing the revoked access token",
    )
    # Another person's token is not affected.
    other = login(platform, "sociaalwerker@demo.test")
    assert instruments_status(platform, other) == 200


def test_a_machine_token_revoked_by_its_client_is_refused_too(platform: Platform) -> None:
    issued = httpx.post(
        platform.api(IDENTITY, "/oauth/token"),
        data={"grant_type": "client_credentials"},
        auth=("demo-backend", "demo-backend-secret"),
        timeout=10,
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert instruments_status(platform, token) == 200
    httpx.post(
        platform.api(IDENTITY, "/oauth/revoke"),
        data={"token": token},
        auth=("demo-backend", "demo-backend-secret"),
        timeout=10,
    ).raise_for_status()
    within_seconds(
        lambda: instruments_status(platform, token) == 401,
        "questionnaires refusing the revoked machine token",
    )


def test_rp_initiated_logout_ends_the_login_in_every_service(platform: Platform) -> None:
    tokens = login_tokens(platform, "inwoner@demo.test")
    assert instruments_status(platform, tokens["access_token"]) == 200
    discovery = httpx.get(
        platform.api(IDENTITY, "/.well-known/openid-configuration"), timeout=10
    ).json()
    out = httpx.get(
        discovery["end_session_endpoint"],
        params={"id_token_hint": tokens["id_token"], "ui_locales": "en"},
        timeout=10,
    )
    assert out.status_code == 200 and "logged out" in out.text
    within_seconds(
        lambda: instruments_status(platform, tokens["access_token"]) == 401,
        "questionnaires refusing the access token of the ended login",
    )
    refreshed = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "demo-frontend",
        },
        timeout=10,
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
