"""Login throttling (page and API), assisted registration with a login code, start-up safety."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from asgi_lifespan import LifespanManager
from identity.domain.roles import Role
from identity.main import create_app
from identity.service import clients, directory
from identity.settings import Settings
from identity.startup import StartupRefused
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import PASSWORD, App, drop_databases
from .oauth_helpers import auth_params, code_of, login, pkce, public_client, submit_login

pytestmark = pytest.mark.integration

P = "/identity/v1"


async def test_login_throttled_per_account_on_page_and_api(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    person = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    _, challenge = pkce()
    params = auth_params(client.client_id, challenge)
    for _ in range(5):
        assert (await login(identity.http, params, "res@a.test", "wrong-guess")).status_code == 401
    locked = await login(identity.http, params, "res@a.test")  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Te veel mislukte pogingen" in locked.text and 'role="alert"' in locked.text
    # Other accounts are not locked by this account's failures.
    await identity.person(t, "other@a.test", {"welzijn": [Role.RESIDENT]})
    assert (await login(identity.http, params, "other@a.test")).status_code == 303

    headers = await identity.headers_for(t, person)
    api = await identity.http.put(
        f"{P}/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "a-brand-new-password"},
    )
    assert api.status_code == 429
    assert api.headers["content-type"].startswith("application/problem+json")
    assert int(api.headers["retry-after"]) > 0


async def test_password_change_on_the_api(identity: App, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    person = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    headers = await identity.headers_for(t, person)
    wrong = await identity.http.put(
        f"{P}/me/password",
        headers=headers,
        json={"current_password": "nope-nope-nope", "new_password": "a-brand-new-password"},
    )
    assert wrong.status_code == 401
    ok = await identity.http.put(
        f"{P}/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "a-brand-new-password"},
    )
    assert ok.status_code == 204


async def test_assisted_registration_and_one_time_login_code(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    pro = await identity.person(t, "pro@a.test", {"welzijn": [Role.PROFESSIONAL]})
    resident = await identity.http.post(
        f"{P}/assisted-registrations",
        headers=await identity.headers_for(t, pro),
        json={"organisation": "welzijn", "display_name": "Mevrouw J.", "birth_year": 1941},
    )
    assert resident.status_code == 201, resident.text
    code = resident.json()["login_code"]
    assert len(code) == 9 and code[4] == "-"

    _, challenge = pkce()
    params = auth_params(client.client_id, challenge)
    typed = code.lower().replace("-", " ")  # case, spaces and hyphens are forgiven
    first = await submit_login(identity.http, params, {"login_code": typed})
    code_of(first)
    again = await submit_login(identity.http, params, {"login_code": code})
    assert again.status_code == 401 and "inlogcode" in again.text

    fresh = await identity.http.post(
        f"{P}/people/{resident.json()['id']}/login-codes",
        headers=await identity.headers_for(t, pro),
    )
    assert fresh.status_code == 201
    second = await submit_login(identity.http, params, {"login_code": fresh.json()["login_code"]})
    code_of(second)

    # Retried with the same Idempotency-Key: the same resident, but the code only once (the
    # replay store never holds it).
    keyed = {**await identity.headers_for(t, pro), "Idempotency-Key": "assist-1"}
    body = {"organisation": "welzijn", "display_name": "Meneer K.", "birth_year": 1938}
    once = await identity.http.post(f"{P}/assisted-registrations", headers=keyed, json=body)
    replay = await identity.http.post(f"{P}/assisted-registrations", headers=keyed, json=body)
    assert once.status_code == replay.status_code == 201
    assert once.json()["login_code"] and replay.json()["login_code"] is None
    assert replay.json()["id"] == once.json()["id"]

    # A professional of another organisation cannot register residents for this one.
    await directory.create_organisation(
        identity.ctx,
        t,
        slug="elders",
        name="Elders",
        kind=directory.OrganisationKind.WELFARE,
        actor="t",
    )
    outsider = await identity.person(t, "out@a.test", {"elders": [Role.PROFESSIONAL]})
    refused = await identity.http.post(
        f"{P}/assisted-registrations",
        headers=await identity.headers_for(t, outsider),
        json={"organisation": "welzijn", "display_name": "X"},
    )
    assert refused.status_code == 404


def test_refuses_to_start_in_prod_with_the_dev_pepper(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(
        env="prod", login_code_pepper="dev-only-login-code-pepper-change-me"
    )
    with pytest.raises(StartupRefused, match="WK_LOGIN_CODE_PEPPER"):
        create_app(settings)


async def test_refuses_to_start_in_prod_with_demo_clients_or_without_keys(
    settings_factory: Callable[..., Settings],
) -> None:
    dev = settings_factory(env="dev")
    app = create_app(dev)
    async with LifespanManager(app, startup_timeout=60):
        ctx = app.state.identity
        await directory.register_tenant(ctx, slug="shop", name="Shop", actor="t")
        await directory.create_organisation(
            ctx, "shop", slug="org", name="Org", kind=directory.OrganisationKind.WELFARE, actor="t"
        )
        await clients.create_client(
            ctx,
            "shop",
            organisation="org",
            name="Demo",
            confidential=True,
            scopes=["x"],
            fixed_id="demo-backend",
            fixed_secret="demo-backend-secret",
        )
    prod = dev.model_copy(update={"env": "prod", "generate_keys": None})
    with pytest.raises(StartupRefused, match="demo-backend"):
        async with LifespanManager(create_app(prod)):
            pass

    await drop_databases(dev)
    empty = settings_factory(env="prod", generate_keys=None)
    with pytest.raises(Exception, match="wk keys rotate"):
        async with LifespanManager(create_app(empty)):
            pass
    await drop_databases(empty)
