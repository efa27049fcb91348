"""Helpers for OAuth tests: clients, the login form, the PKCE dance by hand."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
from identity.domain.api_clients import ApiClient
from identity.service import clients

from .conftest import PASSWORD, App

REDIRECT = "http://localhost:8080/callback"
A = "/identity/v1/oauth"


async def public_client(app: App, tenant: str, org: str = "welzijn") -> ApiClient:
    client, _ = await clients.create_client(
        app.ctx,
        tenant,
        organisation=org,
        name="Wijkapp",
        confidential=False,
        scopes=["openid", "profile", "email", "offline_access"],
        redirect_uris=[REDIRECT],
        allowed_origins=["http://localhost:8080"],
    )
    return client


async def confidential_client(app: App, tenant: str, org: str = "welzijn") -> tuple[str, str]:
    client, secret = await clients.create_client(
        app.ctx,
        tenant,
        organisation=org,
        name="Backend",
        confidential=True,
        scopes=["effects.read", "questionnaires.read"],
    )
    assert secret is not None
    return client.client_id, secret


async def machine_headers(app: App, tenant: str) -> dict[str, str]:
    """A client-credentials (machine) token of a new confidential client of the tenant."""
    client_id, secret = await confidential_client(app, tenant)
    issued = await app.http.post(
        f"{A}/token", auth=(client_id, secret), data={"grant_type": "client_credentials"}
    )
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


def assert_person_required(response: httpx.Response) -> None:
    """The refusal of a machine token where a person must be calling."""
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:wijkkracht:problem:person-required"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def auth_params(client_id: str, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid profile email",
        "state": "st-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_of(page: httpx.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, page.text
    return found.group(1)


async def submit_login(
    http: httpx.AsyncClient, params: dict[str, str], fields: dict[str, str]
) -> httpx.Response:
    """Like a browser: open the login page (cookie + form token), then post the form."""
    page = await http.get(f"{A}/authorize", params=params)
    assert page.status_code == 200, page.text
    return await http.post(
        f"{A}/authorize", data={**params, "csrf_token": csrf_token_of(page), **fields}
    )


async def login(
    http: httpx.AsyncClient, params: dict[str, str], email: str, password: str = PASSWORD
) -> httpx.Response:
    return await submit_login(http, params, {"email": email, "password": password})


def code_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query["code"][0]


async def authorization_code(app: App, client_id: str, email: str) -> tuple[str, str]:
    verifier, challenge = pkce()
    code = code_of(await login(app.http, auth_params(client_id, challenge), email))
    return code, verifier


async def exchange(
    http: httpx.AsyncClient, client_id: str, code: str, verifier: str
) -> httpx.Response:
    return await http.post(
        f"{A}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
