"""Request body limits (issue 16): the platform's limit, smaller for anonymous routes and the
import's own; a body over it is a 413 problem, refused while it streams in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from questionnaires.main import PREFIX, create_app
from questionnaires.settings import Settings
from wijkkracht_common.http_app import MIB
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration

CHUNK = 1024


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:wijkkracht:problem:payload-too-large"
    assert body["max_bytes"] == limit


class Chunks:
    """A JSON-looking body sent chunked (no Content-Length), counting what was read."""

    def __init__(self, total_bytes: int) -> None:
        self.total = total_bytes // CHUNK
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{"
        for _ in range(self.total):
            self.read += 1
            yield b" " * CHUNK


async def test_anonymous_routes_take_small_bodies_only(qs: Any) -> None:
    limit = qs.app.state.ctx.settings.max_anonymous_body
    await qs.client.get(f"{PREFIX}/instruments", headers=qs.resident())
    base = f"{PREFIX}/tenants/{qs.tenants.a}/anonymous-responses"
    declared = await qs.client.post(
        base, content=b"{" + b" " * limit + b"}", headers={"content-type": "application/json"}
    )
    assert_too_large(declared, limit)
    body = Chunks(20 * limit)
    streamed = await qs.client.post(
        base, content=body, headers={"content-type": "application/json"}
    )
    assert "content-length" not in streamed.request.headers
    assert_too_large(streamed, limit)
    assert body.read < body.total  # refused while arriving, not read whole
    # Within the limit: served as before.
    started = await qs.client.post(base, json={"instrument_id": "health-short"})
    assert started.status_code == 201, started.text


async def test_the_import_has_its_own_limit_and_other_routes_the_platforms(qs: Any) -> None:
    settings = qs.app.state.ctx.settings
    body = Chunks(3 * settings.max_import_body)
    streamed = await qs.client.post(
        f"{PREFIX}/instruments/import",
        content=body,
        headers={**qs.admin(), "content-type": "application/json"},
    )
    assert_too_large(streamed, settings.max_import_body)
    assert body.read < body.total
    # Any other route: the platform's default limit, before the token is even looked at.
    other = Chunks(3 * settings.max_request_body_bytes)
    response = await qs.client.post(
        f"{PREFIX}/responses", content=other, headers={"content-type": "application/json"}
    )
    assert_too_large(response, settings.max_request_body_bytes)
    assert other.read < other.total


async def test_the_import_limit_comes_from_the_settings(
    settings: Settings, test_issuer: TestIssuer, two_tenants: TwoTenants
) -> None:
    """An operator may allow larger imports (WK_MAX_IMPORT_BODY) than the platform's 1 MiB;
    the other routes keep the platform's limit."""
    larger = settings.model_copy(update={"max_import_body": 3 * MIB})
    app = create_app(larger, verifier=test_issuer.verifier())
    admin = test_issuer.headers(
        sub="person-a1", tenant=two_tenants.a, orgs={"de-smd": ["org_admin"]}
    )
    big = b'{"organisation": "de-smd", "definition": {"x": "' + b"x" * (2 * MIB) + b'"}}'
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
    ):
        imported = await client.post(
            f"{PREFIX}/instruments/import",
            content=big,
            headers={**admin, "content-type": "application/json"},
        )
        # Read and judged (not a valid definition), not refused for its size.
        assert imported.status_code == 422, imported.text[:300]
        elsewhere = await client.post(
            f"{PREFIX}/responses",
            content=big,
            headers={**admin, "content-type": "application/json"},
        )
        assert_too_large(elsewhere, larger.max_request_body_bytes)
