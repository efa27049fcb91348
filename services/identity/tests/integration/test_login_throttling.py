"""Login throttling without lockout (issue 16, finding 4): an attacker's wrong passwords delay
the attacker's source, never the owner's; the counters live in the database, so replicas
share them; the owner gets a notice by mail (Dutch first)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from identity.domain.roles import Role
from identity.main import create_app
from identity.settings import Settings
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import PASSWORD, App, drop_databases
from .oauth_helpers import auth_params, code_of, login, pkce, public_client

pytestmark = pytest.mark.integration

P = "/identity/v1"
X, Y = "198.51.100.6", "203.0.113.9"


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A browser on another machine: the app sees `address` as the client."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app, client=(address, 40000)),
        base_url="http://identity.test",
    )


async def test_five_wrong_from_x_then_the_right_password_from_y_succeeds(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    owner = await identity.person(t, "owner@a.test", {"welzijn": [Role.RESIDENT]})
    params = auth_params(client.client_id, pkce()[1])
    async with client_from(identity.app, X) as x, client_from(identity.app, Y) as y:
        for _ in range(5):
            assert (await login(x, params, "owner@a.test", "wrong-guess")).status_code == 401
        code_of(await login(y, params, "owner@a.test"))  # the owner, from their own device

        attacker = await login(x, params, "owner@a.test")  # even the right password
        assert attacker.status_code == 429
        assert 0 < int(attacker.headers["retry-after"]) <= 30
        assert "Te veel mislukte pogingen" in attacker.text

        # The API's re-authentication: refused from X, fine from the owner's device.
        headers = await identity.headers_for(t, owner)
        body = {"current_password": PASSWORD, "new_password": "a-brand-new-password"}
        refused = await x.put(f"{P}/me/password", headers=headers, json=body)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await y.put(f"{P}/me/password", headers=headers, json=body)).status_code == 204


@pytest.fixture
async def two_replicas(
    settings_factory: Callable[..., Settings],
) -> AsyncIterator[tuple[App, App]]:
    settings = settings_factory()  # one service name: one set of databases
    async with AsyncExitStack() as stack:
        replicas = []
        for _ in range(2):
            app = create_app(settings)
            await stack.enter_async_context(LifespanManager(app, startup_timeout=60))
            http = await stack.enter_async_context(client_from(app, X))
            replicas.append(App(app, http))
        yield replicas[0], replicas[1]
    await drop_databases(settings)


async def test_counters_are_shared_by_two_app_instances_on_one_database(
    two_replicas: tuple[App, App], two_tenants: TwoTenants
) -> None:
    first, second = two_replicas
    t = two_tenants.a
    await first.tenant(t)
    client = await public_client(first, t)
    await first.person(t, "owner@a.test", {"welzijn": [Role.RESIDENT]})
    params = auth_params(client.client_id, pkce()[1])
    for replica in (first, second, first, second, first):  # one attacker, both replicas
        assert (await login(replica.http, params, "owner@a.test", "wrong")).status_code == 401
    for replica in (first, second):
        refused = await login(replica.http, params, "owner@a.test")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    async with client_from(second.app, Y) as owner_device:
        code_of(await login(owner_device, params, "owner@a.test"))


async def test_the_owner_is_told_once_by_mail_dutch_first(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    await identity.person(t, "owner@a.test", {"welzijn": [Role.RESIDENT]})
    params = auth_params(client.client_id, pkce()[1])
    sources = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"]
    for source in sources:  # spread over sources: no source is delayed, the owner is told
        async with client_from(identity.app, source) as http:
            assert (await login(http, params, "owner@a.test", "wrong")).status_code == 401
    async with client_from(identity.app, "192.0.2.9") as http:
        assert (await login(http, params, "nobody@a.test", "wrong")).status_code == 401

    outbox = (await identity.ctx.tenant_db(t))["mail_outbox"]
    notices = await outbox.find({"kind": "failed_logins"}).to_list(None)
    assert [n["to"] for n in notices] == ["owner@a.test"]  # once; none for unknown accounts
    text = notices[0]["text"]
    assert text.index("Beste ") < text.index("Dear ")
    assert "5 keer fout" in " ".join(text.split())
    assert notices[0]["subject"].startswith("Mislukte inlogpogingen")
