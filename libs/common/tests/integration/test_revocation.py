"""Identity's revocations reach every service: a revoked access token, and the earlier tokens
of a disabled person or client, are refused within seconds (cached tokens too), also by a
replica that starts after the revocation."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from wijkkracht_common.auth import CurrentPrincipal
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import AccessTokenRevoked, ClientDisabled, PersonDisabled
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


def build_app(nats_url: str, mongo_url: str, issuer: TestIssuer) -> FastAPI:
    settings = BaseServiceSettings(
        service_name=f"rev{uuid.uuid4().hex[:6]}",
        nats_url=nats_url,
        mongo_url=mongo_url,
        issuer=issuer.issuer,
        env="test",
    )
    runtime = ServiceRuntime(settings, run_relay=False)
    app = create_base_app(
        settings,
        title="t",
        prefix="/t/v1",
        metrics=runtime.metrics,
        readiness={},
        lifespan=runtime.lifespan,
        verifier=issuer.verifier(settings),
    )

    @app.get("/t/v1/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"sub": principal.subject}

    return app


@pytest.fixture
async def client(
    nats_url: str, mongo_url: str, test_issuer: TestIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(nats_url, mongo_url, test_issuer)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c,
    ):
        yield c


async def publish(nats_url: str, envelope: Envelope[Any]) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            envelope.nats_subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id},
        )
    finally:
        await nc.drain()


def refused(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    async def check() -> bool:
        return (await client.get("/t/v1/me", headers=headers)).status_code == 401

    return check


async def test_a_revoked_token_is_refused_even_from_the_cache(
    client: httpx.AsyncClient, test_issuer: TestIssuer, nats_url: str
) -> None:
    tenant, jti = f"rv-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    revoked = {"Authorization": f"Bearer {test_issuer.token(sub='p1', tenant=tenant, jti=jti)}"}
    other = test_issuer.headers(sub="p1", tenant=tenant)
    assert (await client.get("/t/v1/me", headers=revoked)).status_code == 200  # now cached
    await publish(
        nats_url,
        new_event(
            AccessTokenRevoked(token_id=jti, expires_at=time.time() + 900),
            tenant=tenant,
            subject="p1",
        ),
    )
    await eventually(refused(client, revoked), timeout=20)
    assert (await client.get("/t/v1/me", headers=other)).status_code == 200


async def test_a_disabled_person_or_client_loses_the_tokens_issued_before(
    client: httpx.AsyncClient, test_issuer: TestIssuer, nats_url: str
) -> None:
    tenant = f"rv-{uuid.uuid4().hex[:6]}"
    person = test_issuer.headers(sub="p2", tenant=tenant)
    machine = test_issuer.headers(sub="client:c9", tenant=tenant, client_id="c9")
    await publish(nats_url, new_event(PersonDisabled(person_id="p2"), tenant=tenant, subject="p2"))
    await publish(nats_url, new_event(ClientDisabled(client_id="c9"), tenant=tenant, subject="c9"))
    await eventually(refused(client, person), timeout=20)
    await eventually(refused(client, machine), timeout=20)
    # A token issued after the decision (identity issues none unless the person is enabled).
    later = int(time.time()) + 2
    fresh = test_issuer.headers(sub="p2", tenant=tenant, iat=later, nbf=later - 2)
    assert (await client.get("/t/v1/me", headers=fresh)).status_code == 200
    same_elsewhere = test_issuer.headers(sub="p2", tenant=f"x-{tenant}")
    assert (await client.get("/t/v1/me", headers=same_elsewhere)).status_code == 200


async def test_a_replica_started_later_knows_earlier_revocations(
    nats_url: str, mongo_url: str, test_issuer: TestIssuer
) -> None:
    tenant, jti = f"rv-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    token = {"Authorization": f"Bearer {test_issuer.token(sub='p3', tenant=tenant, jti=jti)}"}
    await publish(
        nats_url,
        new_event(
            AccessTokenRevoked(token_id=jti, expires_at=time.time() + 900),
            tenant=tenant,
            subject="p3",
        ),
    )
    app = build_app(nats_url, mongo_url, test_issuer)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as late,
    ):
        await eventually(refused(late, token), timeout=20)
