"""The portal in-process against a fake identity (httpx2 MockTransport): the login flow keeps
tokens on the server, every form needs the CSRF token, every page has a strict CSP, and
logout revokes the refresh token at identity."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from asgi_lifespan import LifespanManager
from joserfc import jwt
from joserfc.jwk import ECKey

from portal.main import create_app
from portal.settings import Settings

ISSUER = "https://id.test/identity/v1"
PORTAL = "https://portal.test"
KEY = ECKey.generate_key("P-256", parameters={"kid": "k1", "use": "sig", "alg": "ES256"})


class FakeIdentity:
    def __init__(self) -> None:
        self.revoked: list[dict[str, str]] = []
        self.nonce = ""
        self.token_auth: str | None = None

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx2.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/oauth/authorize",
                    "token_endpoint": f"{ISSUER}/oauth/token",
                    "revocation_endpoint": f"{ISSUER}/oauth/revoke",
                    "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
                },
            )
        if path.endswith("/jwks.json"):
            return httpx2.Response(200, json={"keys": [KEY.as_dict(private=False)]})
        if path.endswith("/oauth/token"):
            self.token_auth = request.headers.get("authorization")
            form = parse_qs(request.content.decode())
            assert form["code_verifier"][0]
            now = int(time.time())
            id_token = jwt.encode(
                {"alg": "ES256", "kid": "k1"},
                {
                    "iss": ISSUER,
                    "aud": "portal",
                    "sub": "p1",
                    "nonce": self.nonce,
                    "iat": now,
                    "exp": now + 300,
                },
                KEY,
            )
            return httpx2.Response(
                200,
                json={
                    "access_token": "access-1",
                    "refresh_token": "refresh-1",
                    "expires_in": 300,
                    "id_token": id_token,
                    "token_type": "Bearer",
                },
            )
        if path.endswith("/oauth/revoke"):
            self.revoked.append({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
            return httpx2.Response(200, json={})
        if path.endswith("/me/token"):
            return httpx2.Response(
                200, json={"tenant": "demo", "orgs": {"welzijn-demo": ["resident"]}}
            )
        if path.endswith("/me"):
            return httpx2.Response(200, json={"id": "p1", "display_name": "Ineke"})
        return httpx2.Response(404, json={"title": "Niet gevonden / Not found"})


@pytest.fixture
async def setup() -> AsyncIterator[tuple[httpx.AsyncClient, FakeIdentity]]:
    identity = FakeIdentity()
    upstream = httpx2.AsyncClient(transport=httpx2.MockTransport(identity.handler))
    settings = Settings(
        issuer=ISSUER, public_url=PORTAL, client_id="portal", client_secret="s3cret"
    )
    app = create_app(settings, http=upstream)
    async with LifespanManager(app, startup_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PORTAL) as browser:
            yield browser, identity
    await upstream.aclose()


async def _log_in(browser: httpx.AsyncClient, identity: FakeIdentity) -> None:
    started = await browser.get("/login")
    assert started.status_code == 303
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["portal"]
    identity.nonce = query["nonce"][0]
    done = await browser.get(f"/callback?code=c1&state={query['state'][0]}")
    assert done.status_code == 303, done.text


async def test_login_keeps_tokens_on_the_server(setup) -> None:
    browser, identity = setup
    first = await browser.get("/")
    before = first.cookies.get("__Host-wk-portal")
    await _log_in(browser, identity)
    assert identity.token_auth and identity.token_auth.startswith("Basic ")  # confidential
    home = await browser.get("/")
    assert "Ineke" in home.text
    assert "access-1" not in home.text and "refresh-1" not in home.text
    cookie = browser.cookies.get("__Host-wk-portal")
    assert cookie and cookie != before  # a new session id after login (no fixation)


async def test_cookie_and_headers(setup) -> None:
    browser, _ = setup
    answer = await browser.get("/")
    cookie = answer.headers["set-cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    csp = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["cache-control"] == "no-store"


async def test_a_form_without_the_csrf_token_is_refused(setup) -> None:
    browser, identity = setup
    await _log_in(browser, identity)
    refused = await browser.post("/logout", data={})
    assert refused.status_code == 403
    assert not identity.revoked
    page = await browser.get("/")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    other_origin = await browser.post(
        "/logout", data={"csrf_token": token}, headers={"origin": "https://evil.test"}
    )
    assert other_origin.status_code == 403


async def test_logout_revokes_the_refresh_token(setup) -> None:
    browser, identity = setup
    await _log_in(browser, identity)
    page = await browser.get("/")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    out = await browser.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert identity.revoked == [{"token": "refresh-1", "token_type_hint": "refresh_token"}]
    after = await browser.get("/my-data")
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


async def test_callback_with_a_wrong_state_does_not_log_in(setup) -> None:
    browser, _ = setup
    await browser.get("/login")
    answer = await browser.get("/callback?code=c1&state=forged")
    assert answer.status_code == 303
    assert (await browser.get("/my-data")).status_code == 303


async def test_login_next_is_never_an_open_redirect(setup) -> None:
    browser, identity = setup
    started = await browser.get("/login?next=//evil.test/x")
    query = parse_qs(urlsplit(started.headers["location"]).query)
    identity.nonce = query["nonce"][0]
    done = await browser.get(f"/callback?code=c1&state={query['state'][0]}")
    assert done.headers["location"] == "/"
