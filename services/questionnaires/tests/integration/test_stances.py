"""Who may call each operation (issue 16): every operation declares its stance on machine
(client-credentials) tokens, and the stances hold against a real machine token."""

from __future__ import annotations

from typing import Any

import pytest
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.main import PREFIX
from wijkkracht_common.auth import operation_stances

pytestmark = pytest.mark.integration

#: Published instruments are reference data a machine client of the tenant may read.
MACHINE_ALLOWED = {
    ("GET", f"{PREFIX}/instruments"),
    ("GET", f"{PREFIX}/instruments/{{instrument_id}}"),
}


def machine(qs: Any, tenant: str | None = None) -> dict[str, str]:
    """A token like identity's client-credentials grant: `client:<id>`, no person, no roles."""
    headers: dict[str, str] = qs.issuer.headers(
        sub="client:vragen-feed",
        tenant=tenant or qs.tenants.a,
        orgs={"de-smd": ["service"]},
        roles=[],
    )
    return headers


def concrete(path: str) -> str:
    """A path template with every placeholder filled in (the refusal comes first)."""
    return (
        path.replace("{instrument_id}", "health-short")
        .replace("{version}", "1")
        .replace("{response_id}", "r-1")
        .replace("{invitation_id}", "i-1")
        .replace("{person_id}", "person-r1")
    )


async def test_every_operation_declares_its_stance(qs: Any) -> None:
    ours = [s for s in operation_stances(qs.app) if s.path.startswith(PREFIX)]
    assert ours and not [s for s in ours if s.stance == "undeclared"]
    machine_allowed = {(s.method, s.path) for s in ours if s.stance == "machine"}
    assert machine_allowed == MACHINE_ALLOWED
    # Anonymous self-assessments and e-mail links read no token; everything else is a
    # person's own data, staff work or a write: a person must call.
    public = {s.path for s in ours if s.stance == "public"}
    assert public and all(p.startswith(f"{PREFIX}/tenants/{{tenant}}/") for p in public)
    others = {s.stance for s in ours if (s.method, s.path) not in MACHINE_ALLOWED}
    assert others == {"person", "public"}


async def test_a_machine_token_is_refused_by_every_person_only_operation(qs: Any) -> None:
    person_only = [s for s in operation_stances(qs.app) if s.stance == "person"]
    assert len(person_only) > 15
    for operation in person_only:
        response = await qs.client.request(
            operation.method, concrete(operation.path), json={}, headers=machine(qs)
        )
        assert response.status_code == 403, operation
        assert response.headers["content-type"] == "application/problem+json", operation
        assert response.json()["type"].endswith("person-required"), operation


async def test_a_machine_token_no_longer_lists_responses_or_invitations(qs: Any) -> None:
    """Finding 3: a client-credentials token got 200 on these two."""
    for path in ("/responses", "/me/invitations"):
        refused = await qs.client.get(f"{PREFIX}{path}", headers=machine(qs))
        assert refused.status_code == 403
        assert refused.json()["type"] == "urn:wijkkracht:problem:person-required"
        assert (await qs.client.get(f"{PREFIX}{path}", headers=qs.resident())).status_code == 200


async def test_a_machine_client_reads_published_instruments_of_its_tenant(qs: Any) -> None:
    listed = await qs.client.get(f"{PREFIX}/instruments?limit=100", headers=machine(qs))
    assert listed.status_code == 200
    assert "health-short" in {i["id"] for i in listed.json()["items"]}
    one = await qs.client.get(f"{PREFIX}/instruments/health-short", headers=machine(qs))
    assert one.status_code == 200 and one.json()["id"] == "health-short"
    fhir = await qs.client.get(
        f"{PREFIX}/instruments/health-short?format=fhir", headers=machine(qs)
    )
    assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Questionnaire"
    for operation in operation_stances(qs.app):
        if operation.stance == "machine" and operation.path.startswith(PREFIX):
            response = await qs.client.request(
                operation.method, concrete(operation.path), headers=machine(qs)
            )
            assert response.status_code not in (401, 403), operation
    # Without a token: still 401.
    assert (await qs.client.get(f"{PREFIX}/instruments")).status_code == 401


async def test_a_machine_client_sees_no_drafts(qs: Any) -> None:
    """A machine client may read what is published; drafts stay with their organisation's
    admins (the machine token's "service" role in that organisation is no admin role)."""
    definition = shipped_instrument("health-short").model_dump(mode="json")
    definition.update(id="alleen-concept", family="alleen-concept", status="draft")
    imported = await qs.client.post(
        f"{PREFIX}/instruments/import",
        json={"organisation": "de-smd", "definition": definition},
        headers=qs.admin(),
    )
    assert imported.status_code == 201, imported.text
    drafts = await qs.client.get(f"{PREFIX}/instruments?status=draft", headers=machine(qs))
    assert drafts.status_code == 200 and drafts.json()["items"] == []
    one = await qs.client.get(f"{PREFIX}/instruments/alleen-concept", headers=machine(qs))
    assert one.status_code == 404
