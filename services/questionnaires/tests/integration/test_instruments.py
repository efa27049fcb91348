"""Instruments: shipped catalogue, import (JSON and FHIR, all or nothing), lifecycle, tenants."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.domain.fhir_questionnaire import definition_to_fhir

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


def own_definition(instrument_id: str = "buurt-check") -> dict[str, Any]:
    data = shipped_instrument("health-short").model_dump(mode="json")
    data.update(
        id=instrument_id,
        family="buurt-check",
        variant="standard",
        status="draft",
        published_at=None,
    )
    return data


async def _import(
    qs: Any, definition: dict[str, Any], fmt: str = "json", headers: dict[str, str] | None = None
) -> Any:
    return await qs.client.post(
        f"{P}/instruments/import",
        json={"organisation": "de-smd", "format": fmt, "definition": definition},
        headers=headers or qs.admin(),
    )


async def test_import_publish_retire(qs: Any) -> None:
    r = await _import(qs, own_definition())
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft == {
        **draft,
        "id": "buurt-check",
        "version": 1,
        "status": "draft",
        "owner": "de-smd",
        "purpose": "survey",
        "shipped": False,
    }
    # Drafts are invisible to residents and cannot be started.
    me = qs.resident()
    assert (await qs.client.get(f"{P}/instruments/buurt-check", headers=me)).status_code == 404
    r = await qs.client.post(f"{P}/responses", json={"instrument_id": "buurt-check"}, headers=me)
    assert r.status_code == 404
    # A professional may not publish; the organisation's admin may.
    url = f"{P}/instruments/buurt-check/versions/1"
    assert (await qs.client.post(f"{url}/publish", headers=qs.professional())).status_code == 404
    r = await qs.client.post(f"{url}/publish", headers=qs.admin())
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert (await qs.client.post(f"{url}/publish", headers=qs.admin())).status_code == 409
    events = await qs.wait_events("instrument_published", count=11)
    mine = [e for e in events if e["data"]["instrument_id"] == "buurt-check"]
    assert len(mine) == 1 and mine[0]["data"]["purpose"] == "survey"
    # Now residents can fill it in.
    started = await qs.start(me, "buurt-check")
    # A re-import becomes version 2 (draft); version 1 stays as it was.
    r = await _import(qs, own_definition())
    assert r.status_code == 201 and r.json()["version"] == 2
    r = await qs.client.post(f"{url}/retire", headers=qs.admin())
    assert r.status_code == 200 and r.json()["status"] == "retired"
    r = await qs.client.post(f"{P}/responses", json={"instrument_id": "buurt-check"}, headers=me)
    assert r.status_code == 404  # no published version left
    # A response started on the retired version can still be submitted (pinned to v1).
    r = await qs.client.post(
        f"{P}/responses/{started['id']}/submit",
        json={"answers": qs.answers("health-short")},
        headers=me,
    )
    assert r.status_code == 200, r.text


async def test_import_with_errors_is_422_and_stores_nothing(qs: Any) -> None:
    before = (await qs.client.get(f"{P}/instruments?limit=100", headers=qs.admin())).json()
    bad = own_definition("kapot")
    bad["groups"][0]["items"][1]["answer_type"] = "colour"
    bad["groups"][1]["items"][0]["link_id"] = bad["groups"][0]["items"][0]["link_id"]
    r = await _import(qs, bad)
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"].endswith("invalid-definition")
    assert "groups[0].items[1].answer_type" in {e["path"] for e in problem["errors"]}
    after = (await qs.client.get(f"{P}/instruments?limit=100", headers=qs.admin())).json()
    assert after["items"] == before["items"]
    # Rule errors (duplicate link id) point at the item too.
    bad = own_definition("kapot")
    bad["groups"][1]["items"][0]["link_id"] = bad["groups"][0]["items"][0]["link_id"]
    r = await _import(qs, bad)
    assert r.status_code == 422 and any(
        "groups[1].items[0]" in e["path"] for e in r.json()["errors"]
    )
    # Not an object / wrong FHIR resource.
    r = await _import(qs, {"resourceType": "Patient"}, fmt="fhir")
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "resourceType"


async def test_fhir_import_and_export(qs: Any) -> None:
    definition = shipped_instrument("health-short").model_copy(
        update={"id": "fhir-check", "family": "fhir-check", "status": "draft"}
    )
    fhir = definition_to_fhir(definition)
    r = await _import(qs, fhir, fmt="fhir")
    assert r.status_code == 201, r.text
    broken = copy.deepcopy(fhir)
    broken["item"][0]["item"][0]["type"] = "attachment"
    r = await _import(qs, broken, fmt="fhir")
    assert r.status_code == 422
    assert any(e["path"].startswith("item[0].item[0]") for e in r.json()["errors"])
    r = await qs.client.get(f"{P}/instruments/health-short?format=fhir", headers=qs.resident())
    assert r.status_code == 200 and r.json()["resourceType"] == "Questionnaire"


async def test_import_rules(qs: Any) -> None:
    # Only an org_admin of that organisation.
    r = await _import(qs, own_definition(), headers=qs.professional())
    assert r.status_code == 403
    r = await _import(qs, own_definition(), headers=qs.admin(org="andere-org"))
    assert r.status_code == 403
    # A shipped id is taken; shipped instruments are read-only.
    r = await _import(qs, own_definition("health-short"))
    assert r.status_code == 409
    r = await qs.client.post(f"{P}/instruments/health-short/versions/1/retire", headers=qs.admin())
    assert r.status_code == 403
    # Too large bodies are refused before parsing.
    huge = own_definition()
    huge["description"] = {"nl": "x" * 2_000_000, "en": "x"}
    r = await _import(qs, huge)
    assert r.status_code == 413


async def test_tenant_b_never_sees_tenant_a_instruments(qs: Any) -> None:
    assert (await _import(qs, own_definition("alleen-a"))).status_code == 201
    r = await qs.client.post(f"{P}/instruments/alleen-a/versions/1/publish", headers=qs.admin())
    assert r.status_code == 200
    b = qs.admin(tenant=qs.tenants.b)
    r = await qs.client.get(f"{P}/instruments/alleen-a", headers=b)
    assert r.status_code == 404
    listed = (await qs.client.get(f"{P}/instruments?limit=100", headers=b)).json()["items"]
    assert "alleen-a" not in {i["id"] for i in listed}
    assert "health-short" in {i["id"] for i in listed}  # shipped: in every tenant
    r = await qs.client.post(
        f"{P}/responses",
        json={"instrument_id": "alleen-a"},
        headers=qs.resident(tenant=qs.tenants.b),
    )
    assert r.status_code == 404
