"""The freshness sweep honours a policy changed just before it runs, on any replica; an
admin runs the sweep of their own tenant now (endpoint and `wk social-map sweep`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from conftest import PREFIX, FakeClock
from fastapi import FastAPI
from helpers import entry
from social_map.adapters.repositories import INDEXES
from social_map.cli import app as cli_app
from social_map.main import create_app
from social_map.service import entries
from social_map.service.context import ServiceContext
from social_map.service.freshness import sweep_tenant
from social_map.settings import Settings
from typer.testing import CliRunner
from wijkkracht_common.auth import Principal
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TEST_ISSUER_URL, MailSink, TwoTenants

pytestmark = pytest.mark.integration

TIGHT = {"remind_after_days": 30, "stale_after_days": 60, "hidden_after_days": 90}
DUE = "nl.wijkkracht.social_map.entry_verification_due.v1"


def _settings(nats_url: str, mongo_url: str, mail_port: int) -> Settings:
    return Settings(
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        issuer=TEST_ISSUER_URL,
        smtp_port=mail_port,
        run_freshness_sweep=False,
        outbox_poll_seconds=0.1,
        outbox_retain_sent=True,
        public_base_url="http://t/social-map/v1",
        verification_secret="x" * 40,  # type: ignore[arg-type]
        # a replica keeps its tenant view for an hour: only versioning can tell it the
        # policy changed (the default refresh of 1 s hides the bug most of the time)
        search_refresh_seconds=3600,
        # not a warm-up of every tenant the session has made, twice, beside the test's writes
        search_warm_at_startup=False,
    )


class Replica:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def ctx(self) -> ServiceContext:
        ctx: ServiceContext = self.app.state.ctx
        return ctx


@pytest.fixture
async def replicas(
    nats_url: str, mongo_url: str, mail_sink: MailSink, test_issuer: TestIssuer, clock: FakeClock
) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas of the service on one database (and one clock)."""
    async with AsyncExitStack() as stack:
        pair = []
        for _ in range(2):
            app = create_app(
                _settings(nats_url, mongo_url, mail_sink.port),
                verifier=test_issuer.verifier(),
                clock=clock,
            )
            await stack.enter_async_context(LifespanManager(app, startup_timeout=60))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            )
            pair.append(Replica(app, client))
        yield pair[0], pair[1]


def _headers(issuer: TestIssuer, tenant: str, sub: str, **orgs: list[str]) -> dict[str, str]:
    return issuer.headers(
        sub=sub, tenant=tenant, orgs={k.replace("_", "-"): v for k, v in orgs.items()}
    )


async def _announced(replica: Replica, tenant: str, entry_id: str) -> tuple[str, int]:
    """(the state last announced of an entry, how many reminders the tenant staged)."""
    db = await replica.ctx.db(tenant)
    doc = await db["entries"].find_one({"_id": entry_id})
    assert doc is not None
    due = await db["outbox"].count_documents({"type": DUE})
    return str(doc["freshness"]), due


@pytest.mark.parametrize("writer", ["same replica", "other replica"])
async def test_a_sweep_right_after_a_tightened_policy_flags_what_is_due_under_it(
    replicas: tuple[Replica, Replica],
    two_tenants: TwoTenants,
    test_issuer: TestIssuer,
    clock: FakeClock,
    writer: str,
) -> None:
    t = two_tenants.a
    a, b = replicas
    admin = _headers(test_issuer, t, "p-admin", org_a=["org_admin"])
    manager = _headers(test_issuer, t, "p-m", gemeente_demo=["neighbourhood_manager"])
    r = await b.client.post(f"{PREFIX}/entries", json=entry(), headers=admin)
    assert r.status_code == 201, r.text
    entry_id = r.json()["entry"]["id"]
    # the sweeping replica holds the tenant view with the default policy (remind at 150 days)
    r = await b.client.get(f"{PREFIX}/freshness-policy", headers=manager)
    assert r.json()["remind_after_days"] == 150

    clock.advance(40)  # past 30 days: due under the tightened policy, fresh under the old
    policy_writer = b if writer == "same replica" else a
    r = await policy_writer.client.put(f"{PREFIX}/freshness-policy", json=TIGHT, headers=manager)
    assert r.status_code == 200, r.text

    assert await sweep_tenant(b.ctx, t, clock()) == 1
    assert await _announced(b, t, entry_id) == ("due", 1)
    r = await b.client.get(f"{PREFIX}/freshness-policy", headers=manager)
    assert r.json() == {**TIGHT, "report_penalty_days": 60}

    clock.advance(25)  # 65 days: stale under the new policy, its next check was set by it
    assert await sweep_tenant(b.ctx, t, clock()) == 1
    assert (await _announced(b, t, entry_id))[0] == "stale"


async def test_a_manager_runs_the_sweep_of_their_own_tenant_now(
    replicas: tuple[Replica, Replica],
    two_tenants: TwoTenants,
    test_issuer: TestIssuer,
    clock: FakeClock,
) -> None:
    a, _ = replicas
    ta, tb = two_tenants.a, two_tenants.b
    admin_a = _headers(test_issuer, ta, "p-admin", org_a=["org_admin"])
    manager_a = _headers(test_issuer, ta, "p-ma", gemeente_demo=["neighbourhood_manager"])
    manager_b = _headers(test_issuer, tb, "p-mb", gemeente_demo=["neighbourhood_manager"])
    url = f"{PREFIX}/freshness/sweeps"
    r = await a.client.post(f"{PREFIX}/entries", json=entry(), headers=admin_a)
    entry_id = r.json()["entry"]["id"]
    clock.advance(151)  # due in tenant A; the next hourly sweep is far away

    for who in (admin_a, _headers(test_issuer, ta, "p-res", org_a=["resident"])):
        r = await a.client.post(url, headers=who)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await a.client.post(url)).status_code == 401

    # tenant B's manager sweeps tenant B only: A's due entry stays unannounced
    r = await a.client.post(url, headers=manager_b)
    assert r.status_code == 201, r.text
    assert (r.json()["checked"], r.json()["changed"]) == (0, 0)
    b_sweep = r.headers["location"]
    assert await _announced(a, ta, entry_id) == ("fresh", 0)

    r = await a.client.post(url, headers=manager_a)
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["checked"], report["changed"], report["policy_version"]) == (1, 1, 0)
    assert await _announced(a, ta, entry_id) == ("due", 1)
    location = r.headers["location"]
    assert location.endswith(f"{url}/{report['id']}")
    assert (await a.client.get(location, headers=manager_a)).json() == report

    # B cannot see A's report (nor A B's): another tenant's sweep does not exist for them
    for path, who in ((location, manager_b), (b_sweep, manager_a)):
        r = await a.client.get(path, headers=who)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await a.client.get(location, headers=admin_a)).status_code == 403

    r = await a.client.post(url, headers=manager_a)  # nothing is announced twice
    assert (r.json()["changed"], await _announced(a, ta, entry_id)) == (0, ("due", 1))


async def test_the_sweep_endpoint_is_documented(replicas: tuple[Replica, Replica]) -> None:
    a, _ = replicas
    spec = (await a.client.get("/openapi.json")).json()
    post = spec["paths"][f"{PREFIX}/freshness/sweeps"]["post"]
    get = spec["paths"][f"{PREFIX}/freshness/sweeps/{{sweep_id}}"]["get"]
    assert set(post["responses"]) >= {"201", "401", "403"}
    assert set(get["responses"]) >= {"200", "401", "403", "404"}
    for op in (post, get):
        assert "application/problem+json" in op["responses"]["403"]["content"]
    assert post["summary"] and "tenant" in post["description"]


async def test_wk_social_map_sweep(
    nats_url: str, mongo_url: str, mail_sink: MailSink, two_tenants: TwoTenants
) -> None:
    """The CLI sweeps one tenant in its own process (here: its own thread and event loop)."""
    t = two_tenants.a
    settings = _settings(nats_url, mongo_url, mail_sink.port)
    runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=False)
    long_ago = FakeClock()
    long_ago.advance(-151)
    ctx = ServiceContext(runtime, settings, long_ago)
    admin = Principal(
        subject="p-admin",
        tenant=t,
        roles=frozenset({"org_admin"}),
        orgs={"org-a": frozenset({"org_admin"})},
    )
    try:
        stored = await entries.create_entry(ctx, admin, entries.EntryDraft(**entry()))
        env = {"WK_NATS_URL": nats_url, "WK_MONGO_URL": mongo_url, "WK_ENV": "test"}
        runner = CliRunner()

        def run(*args: str) -> Any:
            return runner.invoke(cli_app, ["sweep", *args], env=env)

        result = await asyncio.to_thread(run, "--tenant", t)
        assert result.exit_code == 0, result.output
        assert "1 of 1" in result.output
        assert (await entries.load(ctx, t, stored.entry.id)).freshness.value == "due"
        db = await ctx.db(t)
        assert await db["outbox"].count_documents({"type": DUE}) == 1

        unknown = await asyncio.to_thread(run, "--tenant", "no-such-tenant")
        assert unknown.exit_code == 2 and "no-such-tenant" in unknown.output
        invalid = await asyncio.to_thread(run, "--tenant", "Not A Slug")
        assert invalid.exit_code == 2
    finally:
        runtime.storage.close()
