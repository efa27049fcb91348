"""Who may call: the person and machine dependencies, each operation's stance, and the bounded
verified-token cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from wijkkracht_common.auth import (
    CurrentPrincipal,
    MachinePrincipal,
    OperationStance,
    PersonPrincipal,
    Principal,
    TokenVerifier,
    allow_machine,
    operation_stances,
    require_roles,
)
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.observability import ServiceMetrics
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.testing.issuer import TestIssuer

pytestmark = pytest.mark.unit

ISSUER = TestIssuer("http://issuer.test")


@asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


def build_app() -> FastAPI:
    settings = BaseServiceSettings(service_name="stances", issuer=ISSUER.issuer)
    app = create_base_app(
        settings,
        title="t",
        prefix="/t",
        metrics=ServiceMetrics("stances"),
        readiness={},
        lifespan=no_lifespan,
        verifier=ISSUER.verifier(settings),
    )
    router = APIRouter()

    @router.get("/me/things")
    async def mine(principal: PersonPrincipal) -> dict[str, Any]:
        return {"person": principal.person_id}

    @router.get("/catalogue")
    async def catalogue(principal: MachinePrincipal) -> dict[str, Any]:
        return {"subject": principal.subject}

    @router.post("/reports")
    async def report(
        principal: Annotated[Principal, Depends(require_roles("analyst"))],
    ) -> dict[str, Any]:
        return {"ok": True}

    @router.get("/legacy")
    async def legacy(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"ok": True}

    @router.get("/open")
    async def public() -> dict[str, Any]:
        return {"ok": True}

    # a router-level stance reaches each of its operations
    feeds = APIRouter(dependencies=[Depends(allow_machine)])

    @feeds.get("/feeds/{feed}")
    async def feed(feed: str) -> dict[str, Any]:
        return {"feed": feed}

    app.include_router(router, prefix="/t")
    app.include_router(feeds, prefix="/t")
    return app


def person(**orgs: list[str]) -> dict[str, str]:
    return ISSUER.headers(sub="p-1", tenant="ta", orgs=orgs)


def machine() -> dict[str, str]:
    # identity's client-credentials token: sub client:<id>, the "service" pseudo-role
    return ISSUER.headers(sub="client:feeds", tenant="ta", orgs={"de-smd": ["service"]}, roles=[])


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(build_app()), base_url="http://t"
    ) as c:
        yield c


async def test_a_machine_token_is_refused_where_a_person_must_call(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.get("/t/me/things", headers=machine())
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:wijkkracht:problem:person-required"
    assert (await client.get("/t/me/things", headers=person())).json() == {"person": "p-1"}
    assert (await client.get("/t/me/things")).status_code == 401


async def test_roles_imply_a_person(client: httpx.AsyncClient) -> None:
    # even a machine token that claims a role (identity never issues one) is refused
    forged = ISSUER.headers(sub="client:x", tenant="ta", orgs={"o": ["analyst"]})
    refused = await client.post("/t/reports", headers=forged)
    assert refused.status_code == 403 and refused.json()["type"].endswith("person-required")
    assert (await client.post("/t/reports", headers=person(o=["analyst"]))).status_code == 200
    assert (await client.post("/t/reports", headers=person(o=["resident"]))).status_code == 403


async def test_a_machine_client_may_call_where_allowed(client: httpx.AsyncClient) -> None:
    assert (await client.get("/t/catalogue", headers=machine())).json() == {
        "subject": "client:feeds"
    }
    assert (await client.get("/t/catalogue", headers=person())).status_code == 200
    assert (await client.get("/t/feeds/a", headers=machine())).status_code == 200
    assert (await client.get("/t/feeds/a")).status_code == 401


def test_operation_stances_lists_every_operation() -> None:
    stances = {(s.method, s.path): s.stance for s in operation_stances(build_app())}
    assert stances == {
        ("GET", "/t/me/things"): "person",
        ("GET", "/t/catalogue"): "machine",
        ("POST", "/t/reports"): "person",
        ("GET", "/t/legacy"): "undeclared",
        ("GET", "/t/open"): "public",
        ("GET", "/t/feeds/{feed}"): "machine",
        ("GET", "/healthz"): "public",
        ("GET", "/readyz"): "public",
        ("GET", "/metrics"): "public",
        ("GET", "/docs"): "public",  # the API documentation, served without a CDN
    }
    assert OperationStance("GET", "/t/legacy", "legacy", "undeclared") in operation_stances(
        build_app()
    )


async def test_the_stances_hold_against_a_machine_token(client: httpx.AsyncClient) -> None:
    """How a service proves its stances: every person-only operation refuses a machine token
    before anything else runs (path values and bodies do not matter)."""
    for operation in operation_stances(build_app()):
        if operation.stance != "person":
            continue
        path = operation.path.replace("{", "").replace("}", "")
        response = await client.request(operation.method, path, headers=machine())
        assert response.status_code == 403, operation
        assert response.json()["type"].endswith("person-required"), operation


async def test_the_verified_token_cache_is_bounded_least_recently_used_first() -> None:
    verifier = TokenVerifier(
        ISSUER.jwks_cache(), issuer=ISSUER.issuer, audience=ISSUER.audience, cache_size=3
    )
    tokens = [ISSUER.token(sub=f"p-{i}", tenant="ta") for i in range(5)]
    for token in tokens[:3]:
        await verifier.verify(token)
    await verifier.verify(tokens[0])  # used again: now the most recent
    for token in tokens[3:]:
        await verifier.verify(token)
    assert verifier.cached_tokens == 3
    # tokens[1] and tokens[2] were the least recently used: dropped; tokens[0] kept
    assert set(verifier._verified) == {tokens[0], tokens[3], tokens[4]}
    # a dropped token still verifies (again, from the signature)
    assert (await verifier.verify(tokens[1])).subject == "p-1"
    assert verifier.cached_tokens == 3


async def test_the_cache_size_comes_from_the_settings() -> None:
    from wijkkracht_common.http_app import build_verifier

    settings = BaseServiceSettings(token_cache_size=2, issuer=ISSUER.issuer)
    verifier = build_verifier(settings, ISSUER.jwks_cache())
    for i in range(4):
        await verifier.verify(ISSUER.token(sub=f"p-{i}", tenant="ta"))
    assert verifier.cached_tokens == 2
    uncached = BaseServiceSettings(token_cache_size=0, issuer=ISSUER.issuer)
    none = build_verifier(uncached, ISSUER.jwks_cache())
    assert (await none.verify(ISSUER.token(sub="p-9", tenant="ta"))).subject == "p-9"
    assert none.cached_tokens == 0
