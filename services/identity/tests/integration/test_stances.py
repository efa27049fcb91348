"""Who may call each operation (issue 16): every operation declares its stance; a machine
(client-credentials) token is refused where a person is needed — a person's own data, staff
work, writes — and served where a client reads reference data; the OAuth/OpenID endpoints
are public by nature. The neighbourhood import's own body limit (2 MB)."""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncIterator

import pytest
from identity.domain.roles import Role
from identity.entrypoints.http_admin import NEIGHBOURHOODS_MAX_BYTES
from openapi_spec_validator import validate
from wijkkracht_common.auth import operation_stances
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import App
from .oauth_helpers import assert_person_required, machine_headers

pytestmark = pytest.mark.integration

PREFIX = "/identity/v1"

#: The intended stance of every operation (method, path below the prefix).
STANCES = {
    ("GET", "/.well-known/jwks.json"): "public",
    ("GET", "/.well-known/openid-configuration"): "public",
    ("GET", "/oauth/authorize"): "public",
    ("POST", "/oauth/authorize"): "public",
    ("POST", "/oauth/token"): "public",
    ("POST", "/oauth/revoke"): "public",
    ("POST", "/oauth/introspect"): "public",
    ("GET", "/oauth/logout"): "public",
    ("POST", "/oauth/logout"): "public",
    ("GET", "/oauth/userinfo"): "person",
    ("POST", "/oauth/userinfo"): "person",
    ("POST", "/registrations"): "public",
    ("POST", "/assisted-registrations"): "person",
    ("GET", "/me"): "person",
    ("PATCH", "/me"): "person",
    ("PUT", "/me/password"): "person",
    ("GET", "/me/token"): "person",
    ("GET", "/me/access-log"): "person",
    ("GET", "/me/consents"): "person",
    ("POST", "/me/consents"): "person",
    ("DELETE", "/me/consents/{organisation}/{purpose}"): "person",
    ("GET", "/me/erasure"): "person",
    ("POST", "/me/erasure"): "person",
    ("GET", "/me/exports"): "person",
    ("POST", "/me/exports"): "person",
    ("GET", "/me/exports/{export_id}"): "person",
    ("GET", "/me/exports/{export_id}/archive"): "person",
    ("GET", "/tenants"): "person",
    ("POST", "/tenants"): "person",
    ("GET", "/organisations"): "machine",
    ("POST", "/organisations"): "person",
    ("GET", "/organisations/{slug}"): "machine",
    ("GET", "/organisations/{slug}/teams"): "machine",
    ("GET", "/organisations/{slug}/caseload"): "person",
    ("POST", "/organisations/{slug}/teams"): "person",
    ("GET", "/organisations/{slug}/clients"): "person",
    ("POST", "/organisations/{slug}/clients"): "person",
    ("GET", "/organisations/{slug}/clients/{client_id}"): "person",
    ("PATCH", "/organisations/{slug}/clients/{client_id}"): "person",
    ("POST", "/organisations/{slug}/clients/{client_id}/secret"): "person",
    ("GET", "/people"): "person",
    ("POST", "/people"): "person",
    ("GET", "/people/{person_id}"): "person",
    ("GET", "/people/{person_id}/erasure"): "person",
    ("POST", "/people/{person_id}/exports"): "person",
    ("GET", "/people/{person_id}/exports/{export_id}"): "person",
    ("GET", "/people/{person_id}/exports/{export_id}/archive"): "person",
    ("POST", "/people/{person_id}/login-codes"): "person",
    ("POST", "/people/{person_id}/consents"): "person",
    ("DELETE", "/people/{person_id}/consents/{organisation}/{purpose}"): "person",
    ("PUT", "/people/{person_id}/memberships/{organisation}"): "person",
    ("GET", "/neighbourhoods"): "machine",
    ("PUT", "/neighbourhoods"): "person",
}


def _ours(app: App) -> dict[tuple[str, str], str]:
    return {
        (s.method, s.path.removeprefix(PREFIX)): s.stance
        for s in operation_stances(app.app)
        if s.path.startswith(PREFIX)
    }


def test_every_operation_declares_its_intended_stance(identity: App) -> None:
    stances = _ours(identity)
    assert "undeclared" not in stances.values()
    assert stances == STANCES


async def test_a_machine_token_is_refused_where_a_person_is_needed(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    machine = await machine_headers(identity, t)
    for (method, path), stance in _ours(identity).items():
        url = PREFIX + re.sub(r"\{[a-z_]+\}", "unknown", path)
        body = {} if method in ("POST", "PUT", "PATCH") else None
        r = await identity.http.request(method, url, json=body, headers=machine)
        if stance == "person":
            assert r.status_code == 403, (method, path, r.status_code)
            assert_person_required(r)
        elif stance == "machine":
            assert r.status_code not in (401, 403), (method, path, r.text[:200])
    # and the machine-allowed reads serve the client its tenant's reference data
    orgs = await identity.http.get(f"{PREFIX}/organisations", headers=machine)
    assert [o["slug"] for o in orgs.json()["items"]] == ["welzijn"]
    assert (await identity.http.get(f"{PREFIX}/neighbourhoods", headers=machine)).status_code == 200


@pytest.fixture
async def admin(identity: App, two_tenants: TwoTenants) -> AsyncIterator[dict[str, str]]:
    t = two_tenants.a
    await identity.tenant(t)
    person = await identity.person(t, "ta@a.test", {"welzijn": [Role.TENANT_ADMIN]})
    yield await identity.headers_for(t, person)


async def test_a_too_large_neighbourhood_table_is_refused_before_it_is_read_whole(
    identity: App, admin: dict[str, str]
) -> None:
    csv_headers = {**admin, "Content-Type": "text/csv"}
    chunks_read = 0
    chunk = b"X" * 64 * 1024
    chunks = 64  # 4 MiB in all, twice the limit; streamed without Content-Length

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_read
        yield b"code,name,lat,lon,postcodes\n"
        for _ in range(chunks):
            chunks_read += 1
            yield chunk

    r = await identity.http.put(f"{PREFIX}/neighbourhoods", content=body(), headers=csv_headers)
    assert "content-length" not in r.request.headers
    assert r.status_code == 413, r.text[:200]
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:wijkkracht:problem:payload-too-large"
    assert problem["max_bytes"] == NEIGHBOURHOODS_MAX_BYTES == 2_000_000
    assert chunks_read < chunks  # refused while streaming, not after reading it all

    # A declared length over the limit is refused as well; within it the import runs.
    declared = await identity.http.put(
        f"{PREFIX}/neighbourhoods",
        content=b"x" * (NEIGHBOURHOODS_MAX_BYTES + 1),
        headers=csv_headers,
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    rows = "".join(f"N{i},Wijk {i},52.1,4.8,{1000 + i}\n" for i in range(1, 3))
    table = "code,name,lat,lon,postcodes\n" + rows
    ok = await identity.http.put(
        f"{PREFIX}/neighbourhoods", content=table.encode(), headers=csv_headers
    )
    assert ok.status_code == 200 and ok.json()["count"] == 2
    # A 1.5 MB table is within its limit, but over the platform's 1 MiB for other routes.
    padded = table + "#" * 1_500_000 + "\n"
    big = await identity.http.put(
        f"{PREFIX}/neighbourhoods", content=padded.encode(), headers=csv_headers
    )
    assert big.status_code != 413
    too_big = await identity.http.patch(
        f"{PREFIX}/me", json={"display_name": "x" * 1_500_000}, headers=admin
    )
    assert too_big.status_code == 413


def test_the_openapi_document_is_valid_and_names_every_operation_once(identity: App) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns of a duplicate operation id
        spec = identity.app.openapi()
    validate(spec)
    operations = [
        (path.removeprefix(PREFIX), method.upper())
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
    ]
    assert ("/oauth/logout", "GET") in operations and ("/oauth/logout", "POST") in operations
    assert ("/oauth/introspect", "POST") in operations
