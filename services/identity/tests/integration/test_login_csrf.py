"""CSRF protection of the login form: no login without the page's token and cookie."""

from __future__ import annotations

import httpx
import pytest
from identity.domain.roles import Role
from identity.main import create_app
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import PASSWORD, App
from .oauth_helpers import A, auth_params, code_of, csrf_token_of, login, pkce, public_client

pytestmark = pytest.mark.integration


async def _setup(identity: App, t: str) -> dict[str, str]:
    await identity.tenant(t)
    client = await public_client(identity, t)
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    _, challenge = pkce()
    return auth_params(client.client_id, challenge)


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert "location" not in response.headers
    assert "U bent niet ingelogd" in response.text
    assert 'name="csrf_token"' in response.text  # a fresh form to try again


async def test_login_without_or_with_a_forged_token_is_refused(
    identity: App, two_tenants: TwoTenants
) -> None:
    params = await _setup(identity, two_tenants.a)
    creds = {"email": "res@a.test", "password": PASSWORD}
    page = await identity.http.get(f"{A}/authorize", params=params)
    cookie = page.headers["set-cookie"]
    assert "wk_login_csrf=" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie  # http issuer
    token = csrf_token_of(page)

    _refused(await identity.http.post(f"{A}/authorize", data={**params, **creds}))
    _refused(
        await identity.http.post(
            f"{A}/authorize", data={**params, **creds, "csrf_token": token[:-4] + "0000"}
        )
    )
    # The token of this page does not fit another authorization request (other state).
    _refused(
        await identity.http.post(
            f"{A}/authorize", data={**params, "state": "other", **creds, "csrf_token": token}
        )
    )
    # A cross-site form: the right-looking token but not the victim's cookie.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(identity.app), base_url="http://identity.test"
    ) as attacker:
        _refused(
            await attacker.post(f"{A}/authorize", data={**params, **creds, "csrf_token": token})
        )
    refused = await identity.http.post(
        f"{A}/authorize", data={**params, **creds, "csrf_token": "1.abc", "lang": "en"}
    )
    assert refused.status_code == 403 and "You have not been logged in" in refused.text

    # The genuine form still works, and so does the fresh form of a refused page.
    code_of(
        await identity.http.post(f"{A}/authorize", data={**params, **creds, "csrf_token": token})
    )
    fresh = csrf_token_of(refused)
    code_of(
        await identity.http.post(f"{A}/authorize", data={**params, **creds, "csrf_token": fresh})
    )


async def test_two_login_tabs_share_the_cookie_and_failed_logins_keep_a_token(
    identity: App, two_tenants: TwoTenants
) -> None:
    params = await _setup(identity, two_tenants.a)
    first = await identity.http.get(f"{A}/authorize", params=params)
    second = await identity.http.get(f"{A}/authorize", params={**params, "state": "tab-2"})
    wrong = await identity.http.post(
        f"{A}/authorize",
        data={
            **params,
            "email": "res@a.test",
            "password": "wrong",
            "csrf_token": csrf_token_of(first),
        },
    )
    assert wrong.status_code == 401
    code_of(
        await identity.http.post(
            f"{A}/authorize",
            data={
                **params,
                "email": "res@a.test",
                "password": PASSWORD,
                "csrf_token": csrf_token_of(wrong),
            },
        )
    )
    code_of(
        await identity.http.post(
            f"{A}/authorize",
            data={
                **params,
                "state": "tab-2",
                "email": "res@a.test",
                "password": PASSWORD,
                "csrf_token": csrf_token_of(second),
            },
        )
    )
    code_of(await login(identity.http, params, "res@a.test"))


async def test_https_issuer_uses_a_host_only_secure_cookie(
    settings_factory: object, two_tenants: TwoTenants
) -> None:
    settings = settings_factory(issuer="https://identity.test/identity/v1")  # type: ignore[operator]
    from asgi_lifespan import LifespanManager

    from .conftest import drop_databases

    app = create_app(settings)
    try:
        async with (
            LifespanManager(app, startup_timeout=60),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="https://identity.test"
            ) as http,
        ):
            identity = App(app, http)
            params = await _setup(identity, two_tenants.a)
            page = await http.get(f"{A}/authorize", params=params)
            cookie = page.headers["set-cookie"]
            assert cookie.startswith("__Host-wk_login_csrf=")
            assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
            code_of(await login(http, params, "res@a.test"))
    finally:
        await drop_databases(settings)
