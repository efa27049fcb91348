"""The shared HTTP app: probes, metrics, RFC 9457 problems, token verification attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Depends, FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey
from pydantic import BaseModel, Field
from wijkkracht_common.auth import CurrentPrincipal, Principal, require_roles
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import EventData, new_event
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.testing.issuer import TestIssuer

pytestmark = pytest.mark.integration


class Thing(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    size: int = Field(ge=0, le=10)


class Noted(EventData):
    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "noted_test"
    name: str


def build_app(settings: BaseServiceSettings, issuer: TestIssuer) -> FastAPI:
    runtime = ServiceRuntime(settings)
    app = create_base_app(
        settings,
        title="t",
        prefix="/t/v1",
        metrics=runtime.metrics,
        readiness={"nats": runtime.nats_ready, "database": runtime.db_ready},
        lifespan=lambda a: runtime.lifespan(a),
        verifier=issuer.verifier(settings),
    )
    router = APIRouter()

    @router.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"sub": principal.subject, "tenant": principal.tenant}

    @router.post("/things")
    async def create(
        thing: Thing,
        principal: Annotated[Principal, Depends(require_roles("org_admin"))],
    ) -> dict[str, str]:
        return {"name": thing.name}

    @router.post("/notes")
    async def note(thing: Thing, principal: CurrentPrincipal) -> dict[str, str]:
        async def work(db: Any, session: Any) -> tuple[None, list[Any]]:
            event = new_event(Noted(name=thing.name), tenant=principal.tenant, subject="n")
            return None, [event]

        await runtime.commit(principal.tenant, work)
        return {"ok": "yes"}

    @router.get("/things/{thing_id}")
    async def get(thing_id: str, principal: CurrentPrincipal) -> None:
        raise NotFound("Niet gevonden. / Not found.")

    app.include_router(router, prefix="/t/v1")
    app.state.runtime = runtime
    return app


@pytest.fixture
async def client(
    nats_url: str, mongo_url: str, test_issuer: TestIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = BaseServiceSettings(
        service_name=f"svc{uuid.uuid4().hex[:6]}",
        nats_url=nats_url,
        mongo_url=mongo_url,
        issuer=test_issuer.issuer,
        env="test",
    )
    app = build_app(settings, test_issuer)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as c,
    ):
        yield c


async def test_probes_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"nats": True, "database": True}
    metrics = await client.get("/metrics")
    assert "wk_http_requests_total" in metrics.text


async def test_problems(client: httpx.AsyncClient, test_issuer: TestIssuer) -> None:
    admin = test_issuer.headers(sub="p1", tenant="ta", orgs={"org": ["org_admin"]})
    bad = await client.post("/t/v1/things", json={"name": "", "size": 99}, headers=admin)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    body = bad.json()
    assert body["status"] == 422 and body["type"].endswith("validation-error")
    assert {e["field"] for e in body["errors"]} == {"name", "size"}

    malformed = await client.post(
        "/t/v1/things", content=b"{nope", headers={**admin, "content-type": "application/json"}
    )
    assert malformed.status_code == 422

    missing = await client.get("/t/v1/things/x", headers=admin)
    assert missing.status_code == 404 and missing.json()["type"].endswith("not-found")

    unknown_route = await client.get("/nowhere")
    assert unknown_route.status_code == 404
    assert unknown_route.headers["content-type"] == "application/problem+json"

    resident = test_issuer.headers(sub="p2", tenant="ta", orgs={"org": ["resident"]})
    forbidden = await client.post("/t/v1/things", json={"name": "a", "size": 1}, headers=resident)
    assert forbidden.status_code == 403
    assert (
        await client.post("/t/v1/things", json={"name": "a", "size": 1}, headers=admin)
    ).status_code == 200


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(issuer: TestIssuer, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "sub": "p1",
        "tenant": "ta",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "j",
        "scope": "openid",
    }
    claims.update(overrides)
    return claims


async def test_token_attacks_get_401(client: httpx.AsyncClient, test_issuer: TestIssuer) -> None:
    good = test_issuer.token(sub="p1", tenant="ta")
    header = {"alg": "ES256", "kid": test_issuer.key.kid}
    other_key = ECKey.generate_key("P-256", parameters={"kid": test_issuer.key.kid})
    # The classic key-confusion forgery: HMAC over the token with the public key as secret.
    public_pem = test_issuer.key.as_pem(private=False)
    hs_input = f"{_b64({'alg': 'HS256', 'kid': test_issuer.key.kid})}.{_b64(_claims(test_issuer))}"
    hs_sig = (
        base64.urlsafe_b64encode(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest())
        .decode()
        .rstrip("=")
    )
    parts = good.split(".")
    tampered_claims = _claims(test_issuer, sub="someone-else")
    attacks = {
        "none": f"{_b64({'alg': 'none', 'kid': test_issuer.key.kid})}."
        f"{_b64(_claims(test_issuer))}.",
        "wrong_aud": test_issuer.token(sub="p1", tenant="ta", aud="other-api"),
        "wrong_iss": test_issuer.token(sub="p1", tenant="ta", iss="https://evil.example"),
        "expired": test_issuer.token(sub="p1", tenant="ta", exp=int(time.time()) - 3600),
        "not_yet_valid": test_issuer.token(sub="p1", tenant="ta", nbf=int(time.time()) + 3600),
        "unknown_kid": jwt.encode({"alg": "ES256", "kid": "nope"}, _claims(test_issuer), other_key),
        "wrong_key_same_kid": jwt.encode(header, _claims(test_issuer), other_key),
        "tampered": f"{parts[0]}.{_b64(tampered_claims)}.{parts[2]}",
        "hs256_with_public_key": f"{hs_input}.{hs_sig}",
        "no_tenant": jwt.encode(
            header,
            {k: v for k, v in _claims(test_issuer).items() if k != "tenant"},
            test_issuer.key,
        ),
        "garbage": "not-a-jwt",
    }
    assert (
        await client.get("/t/v1/me", headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200
    for name, token in attacks.items():
        response = await client.get("/t/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.headers["content-type"] == "application/problem+json", name
        assert "www-authenticate" in response.headers, name
    assert (await client.get("/t/v1/me")).status_code == 401


async def test_a_request_trace_continues_into_its_event(
    nats_url: str, mongo_url: str, test_issuer: TestIssuer, span_capture: Any
) -> None:
    """With tracing on, the HTTP server span, the outbox record and the published message
    share one trace (architecture §7: traceparent travels in NATS headers)."""
    settings = BaseServiceSettings(
        service_name=f"svc{uuid.uuid4().hex[:6]}",
        nats_url=nats_url,
        mongo_url=mongo_url,
        issuer=test_issuer.issuer,
        env="test",
        tracing=True,
        outbox_retain_sent=True,
    )
    app = build_app(settings, test_issuer)
    tenant = f"tr-{uuid.uuid4().hex[:6]}"
    headers = test_issuer.headers(sub="p1", tenant=tenant)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client,
    ):
        response = await client.post("/t/v1/notes", json={"name": "a", "size": 1}, headers=headers)
        assert response.status_code == 200
        server = [
            s
            for s in span_capture.get_finished_spans()
            if s.kind.name == "SERVER" and "/t/v1/notes" in s.name
        ]
        assert server, [s.name for s in span_capture.get_finished_spans()]
        trace_id = format(server[0].context.trace_id, "032x")
        db = await app.state.runtime.storage.tenant_db(tenant)
        record = await db.outbox.find_one({})
        assert trace_id in record["headers"]["traceparent"]
        js = app.state.runtime.js
        sub = await js.pull_subscribe(f"wk.{tenant}.identity.noted_test.v1")
        for _ in range(50):
            try:
                messages = await sub.fetch(1, timeout=0.2)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("event not published")
        assert trace_id in messages[0].headers["traceparent"]


async def test_tracing_is_off_without_an_exporter(
    nats_url: str,
    mongo_url: str,
    test_issuer: TestIssuer,
    span_capture: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    settings = BaseServiceSettings(
        service_name="svcoff",
        nats_url=nats_url,
        mongo_url=mongo_url,
        issuer=test_issuer.issuer,
        env="test",
    )
    assert settings.tracing_enabled is False
    app = build_app(settings, test_issuer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        await c.get("/healthz")
    server = [s.name for s in span_capture.get_finished_spans() if s.kind.name == "SERVER"]
    assert not server, server


async def test_api_docs_work_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text.split("<body>")[0]
    for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        assert asset in page.text
        assert (await client.get(asset)).status_code == 200
