"""Who may call each operation (issue 16): every operation declares its stance; a machine
(client-credentials) token is refused where a person is needed and served where the tenant's
publication policy is read; a body over the platform's limit is refused before it is read
whole (no route here takes large bodies)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import Harness
from wijkkracht_common.auth import operation_stances

pytestmark = pytest.mark.integration
PREFIX = "/effects/v1"

#: The intended stance of every operation (method, path below the prefix).
STANCES = {
    ("GET", "/me/trajectories"): "person",
    ("GET", "/me/trajectories/{trajectory_id}/chart.svg"): "person",
    ("POST", "/me/trajectories/{trajectory_id}/goals"): "person",
    ("GET", "/people/{person_id}/trajectories"): "person",
    ("GET", "/people/{person_id}/trajectories/{trajectory_id}/chart.svg"): "person",
    ("POST", "/people/{person_id}/trajectories/{trajectory_id}/goals"): "person",
    ("GET", "/aggregates"): "person",
    ("GET", "/aggregates/export"): "person",
    ("GET", "/aggregates/chart.svg"): "person",
    ("GET", "/benchmark"): "person",
    ("GET", "/transitions"): "person",
    ("GET", "/transitions/chart.svg"): "person",
    ("GET", "/persona"): "person",
    ("GET", "/settings/privacy"): "machine",
    ("PUT", "/settings/privacy"): "person",
    ("PUT", "/settings/benchmark-opt-in"): "person",
    ("POST", "/interventions"): "person",
}


def _ours(harness: Harness) -> dict[tuple[str, str], str]:
    return {
        (s.method, s.path.removeprefix(PREFIX)): s.stance
        for s in operation_stances(harness.app)
        if s.path.startswith(PREFIX)
    }


async def test_every_operation_declares_its_intended_stance(harness: Harness) -> None:
    stances = _ours(harness)
    assert "undeclared" not in stances.values()
    assert stances == STANCES


async def test_a_machine_token_is_refused_where_a_person_is_needed(
    harness: Harness, two_tenants: Any
) -> None:
    # A client-credentials token as identity issues it: no person, its organisation's
    # pseudo-role "service".
    partner = harness.issuer.headers(
        sub="client:dashboard", tenant=two_tenants.a, orgs={"gemeente-x": ["service"]}
    )
    for (method, path), stance in _ours(harness).items():
        url = PREFIX + re.sub(r"\{[a-z_]+\}", "unknown", path)
        body = {} if method in ("POST", "PUT") else None
        got = await harness.client.request(method, url, json=body, headers=partner)
        if stance == "person":
            assert got.status_code == 403, (method, path, got.status_code)
            assert got.headers["content-type"] == "application/problem+json"
            assert got.json()["type"] == "urn:wijkkracht:problem:person-required", (method, path)
        else:
            assert got.status_code not in (401, 403), (method, path, got.text[:200])
    policy = await harness.client.get(f"{PREFIX}/settings/privacy", headers=partner)
    assert policy.json() == {"k": 10, "rounding_base": 5, "named_organisations": []}
    # A person still needs a reporting role for it.
    resident = harness.headers(two_tenants.a, "p1", {"welzijn-a": ["resident"]})
    assert (
        await harness.client.get(f"{PREFIX}/settings/privacy", headers=resident)
    ).status_code == 403


async def test_a_too_large_body_is_refused_before_it_is_read_whole(
    harness: Harness, two_tenants: Any
) -> None:
    headers = harness.headers(two_tenants.a, "pro-1", {"welzijn-a": ["professional"]})
    limit = harness.app.state.settings.max_request_body_bytes
    chunks_read = 0
    chunks = 2 * limit // 1024  # twice the limit, streamed without a Content-Length

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_read
        yield b'{"person_id": "'
        for _ in range(chunks):
            chunks_read += 1
            yield b"x" * 1024
        yield b'"}'

    got = await harness.client.post(
        f"{PREFIX}/interventions",
        content=body(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in got.request.headers
    assert got.status_code == 413, got.text[:200]
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["type"] == "urn:wijkkracht:problem:payload-too-large"
    assert chunks_read < chunks
