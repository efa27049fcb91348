"""Who may call each operation (issue 16): every operation declares its stance, machine
(client-credentials) tokens are refused where a person is needed and served where public
reference data is read; the HSDS import's own body limit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from conftest import PREFIX, Api, FakeClock, running_api
from wijkkracht_common.auth import operation_stances
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import MailSink, TwoTenants

pytestmark = pytest.mark.integration

#: The intended stance of every operation (method, path below the prefix).
STANCES = {
    ("GET", "/organisations"): "machine",
    ("PUT", "/organisations/{org_id}"): "person",
    ("POST", "/entries"): "person",
    ("GET", "/entries/{entry_id}"): "machine",
    ("PUT", "/entries/{entry_id}"): "person",
    ("POST", "/entries/{entry_id}/verification"): "person",
    ("POST", "/entries/{entry_id}/reports"): "person",
    ("GET", "/tasks"): "person",
    ("GET", "/freshness"): "person",
    ("POST", "/freshness/sweeps"): "person",
    ("GET", "/freshness/sweeps/{sweep_id}"): "person",
    ("GET", "/verification/{token}"): "public",
    ("POST", "/verification/{token}"): "public",
    ("GET", "/search"): "machine",
    ("GET", "/search/index"): "machine",
    ("GET", "/recommendations"): "person",
    ("GET", "/neighbourhoods"): "machine",
    ("GET", "/neighbourhoods/{code}/activities.ics"): "machine",
    ("POST", "/neighbourhoods/{code}/feed-link"): "person",
    ("DELETE", "/neighbourhoods/{code}/feed-link"): "person",
    ("GET", "/feeds/{token}/activities.ics"): "public",
    ("GET", "/neighbourhoods/{code}/agenda"): "machine",
    ("GET", "/taxonomy"): "machine",
    ("PUT", "/taxonomy"): "person",
    ("POST", "/taxonomy/announcements"): "person",
    ("GET", "/freshness-policy"): "machine",
    ("PUT", "/freshness-policy"): "person",
    ("POST", "/imports"): "person",
    ("GET", "/exports/hsds"): "person",
}


def _ours(api: Api) -> dict[tuple[str, str], str]:
    return {
        (s.method, s.path.removeprefix(PREFIX)): s.stance
        for s in operation_stances(api.app)
        if s.path.startswith(PREFIX)
    }


def test_every_operation_declares_its_intended_stance(api: Api) -> None:
    stances = _ours(api)
    assert "undeclared" not in stances.values()
    assert stances == STANCES


async def test_a_machine_token_is_refused_where_a_person_is_needed(
    api: Api, two_tenants: TwoTenants
) -> None:
    # a client-credentials token as identity issues it: no person, its organisation's
    # pseudo-role "service"
    partner = api.issuer.headers(
        sub="client:partner", tenant=two_tenants.a, orgs={"welzijn-demo": ["service"]}
    )
    for (method, path), stance in _ours(api).items():
        url = PREFIX + re.sub(r"\{[a-z_]+\}", "unknown", path)
        body = {} if method in ("POST", "PUT") else None
        r = await api.client.request(method, url, json=body, headers=partner)
        if stance == "person":
            assert r.status_code == 403, (method, path, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"] == "urn:wijkkracht:problem:person-required", (method, path)
        elif stance == "machine":
            assert r.status_code not in (401, 403), (method, path, r.text[:200])


@pytest.fixture
async def small_imports(
    nats_url: str, mongo_url: str, mail_sink: MailSink, test_issuer: TestIssuer
) -> AsyncIterator[Api]:
    limit = 64 * 1024
    async with running_api(
        nats_url, mongo_url, mail_sink, test_issuer, FakeClock(), import_max_bytes=limit
    ) as running:
        yield running


async def test_a_too_large_import_is_refused_before_it_is_read_whole(
    small_imports: Api, two_tenants: TwoTenants
) -> None:
    api, t = small_imports, two_tenants.a
    manager = api.headers(t, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    chunks_read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_read
        yield b"["
        for _ in range(1000):  # 1 MB in all, 16 times the limit; no Content-Length
            chunks_read += 1
            yield b" " * 1024
        yield b"]"

    r = await api.client.post(
        f"{PREFIX}/imports", content=body(), headers={**manager, "Content-Type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert r.status_code == 413, r.text[:200]
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:wijkkracht:problem:payload-too-large"
    assert problem["max_bytes"] == 64 * 1024
    assert chunks_read < 1000
    # a declared length over the limit is refused as well; within it the import runs
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=b"[" + b" " * 70_000 + b"]",
        headers={**manager, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    r = await api.client.post(
        f"{PREFIX}/imports", content=b"[]", headers={**manager, "Content-Type": "application/json"}
    )
    assert r.status_code == 201 and r.json()["created"] == 0
    # other routes keep the platform's limit (1 MiB), the import's default is 200 MiB
    big = {"categories": [{"code": "x", "label_nl": "x" * 100, "label_en": "x"}] * 20_000}
    r = await api.client.put(f"{PREFIX}/taxonomy", json=big, headers=manager)
    assert r.status_code == 413
    assert type(api.app.state.ctx.settings).model_fields["import_max_bytes"].default == 200 * 2**20
