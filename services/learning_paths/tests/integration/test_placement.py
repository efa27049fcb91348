"""Placement by measured phase: the resident enters the long path at the step that fits,
sees why, may start elsewhere; a professional may override (with consent); unknown never
places."""

from __future__ import annotations

from typing import Any

import pytest
from learning_paths.main import PREFIX
from lp_harness import ORG, Api, module_md, path_md
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


async def _path_with_rules(api: Api, tenant: str) -> dict[str, Any]:
    await api.module(tenant, slug="overzicht", source=module_md("Overzicht maken", steps=2))
    path = await api.module(tenant, slug="grip-op-geld", source=path_md("overzicht"), kind="paths")
    steps = [s["id"] for s in path["version"]["steps"]]
    assert steps == ["p1", "p2", "overzicht.s1", "overzicht.s2", "p4", "p5", "p6"]
    rules = [
        {
            "id": "r1",
            "family": "effect-monitor",
            "theme": "household_budget",
            "phase_min": 1,
            "phase_max": 1,
            "path_id": path["id"],
            "entry_point": "start",
        },
        {
            "id": "r2",
            "family": "effect-monitor",
            "theme": "household_budget",
            "phase_min": 2,
            "phase_max": 2,
            "path_id": path["id"],
            "entry_point": "aware",
        },
        {
            "id": "r3",
            "family": "effect-monitor",
            "theme": "household_budget",
            "phase_min": 3,
            "path_id": path["id"],
            "entry_point": "acting",
        },
        {
            "id": "r4",
            "family": "health-short",
            "theme": "daily_functioning",
            "score_max": 4,
            "path_id": path["id"],
            "entry_point": "start",
        },
    ]
    put = await api.client.put(
        f"{PREFIX}/placement-rules", json={"rules": rules}, headers=api.admin(tenant)
    )
    assert put.status_code == 200, put.text
    return path


async def _placements(api: Api, tenant: str, person: str) -> list[dict[str, Any]]:
    got = await api.client.get(f"{PREFIX}/me/placements", headers=api.resident(tenant, person))
    items: list[dict[str, Any]] = got.json()["items"]
    return items


async def test_a_measurement_places_the_resident_at_the_matching_step(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    path = await _path_with_rules(api, t)
    response = await api.respond(t, "r-aware", phases={"household_budget": 2})
    measurement = await api.measure(t, "r-aware", response)

    async def placed() -> list[dict[str, Any]]:
        return await _placements(api, t, "r-aware")

    found = (await eventually(placed))[0]
    assert found["step_id"] == "overzicht.s1" and found["item"] == 3
    assert found["entry_point"] == "aware" and found["phase"] == 2
    assert found["measurement_id"] == measurement
    assert "stap 3" in found["reason"]["nl"] and "step 3" in found["reason"]["en"]
    event = (await api.wait_for_event(t, "path_placed"))[0]["data"]
    assert event["step_id"] == "overzicht.s1" and event["source"] == "measurement"

    me = api.resident(t, "r-aware")
    started = await api.client.post(
        f"{PREFIX}/enrolments", json={"content_id": path["id"]}, headers=me
    )
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["origin"] == "placement" and body["entry_step"] == "overzicht.s1"
    assert body["required_steps"][0] == "overzicht.s1" and len(body["required_steps"]) == 5
    after = (await _placements(api, t, "r-aware"))[0]
    assert after["status"] == "started" and after["enrolment_id"] == body["id"]


async def test_measurement_before_response_and_starting_elsewhere(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    path = await _path_with_rules(api, t)
    response_id = new_event_id()
    await api.measure(t, "r-early", response_id)
    await api.respond(t, "r-early", phases={"household_budget": 1}, response_id=response_id)

    async def placed() -> list[dict[str, Any]]:
        return await _placements(api, t, "r-early")

    found = (await eventually(placed))[0]
    assert found["step_id"] == "p1" and found["source"] == "measurement"
    started = await api.client.post(
        f"{PREFIX}/enrolments",
        json={"content_id": path["id"], "entry_step": "p5"},
        headers=api.resident(t, "r-early"),
    )
    assert started.json()["entry_step"] == "p5"
    after = (await _placements(api, t, "r-early"))[0]
    assert after["status"] == "started_elsewhere"
    assert after["choices"][0]["role"] == "resident" and after["choices"][0]["entry_step"] == "p5"


async def test_unknown_never_places_and_scores_place_without_phases(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await _path_with_rules(api, t)
    unknown = await api.respond(t, "r-unknown", phases={"relationship": 4})
    await api.measure(t, "r-unknown", unknown)
    scored = await api.respond(
        t,
        "r-scored",
        family="health-short",
        purpose="self_assessment",
        scores={"daily_functioning": 3.5},
    )
    assert scored

    async def placed() -> list[dict[str, Any]]:
        return await _placements(api, t, "r-scored")

    found = (await eventually(placed))[0]
    assert found["source"] == "response" and found["score"] == 3.5 and found["step_id"] == "p1"
    # The measurement without the theme was applied by now (same stream order): no placement.
    events = await api.wait_for_event(t, "path_placed")
    assert {e["data"]["person_id"] for e in events} == {"r-scored"}
    assert await _placements(api, t, "r-unknown") == []


async def test_a_professional_overrides_with_consent_only(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    path = await _path_with_rules(api, t)
    response = await api.respond(t, "r-pro", phases={"household_budget": 3})
    await api.measure(t, "r-pro", response)

    async def placed() -> list[dict[str, Any]]:
        return await _placements(api, t, "r-pro")

    assert (await eventually(placed))[0]["step_id"] == "p5"
    url = f"{PREFIX}/organisations/{ORG}/residents/r-pro/placements/{path['id']}"
    pro = api.professional(t)
    without = await api.client.put(url, json={"entry_step": "p1"}, headers=pro)
    assert without.status_code == 404
    await api.consent(t, "r-pro")

    async def allowed() -> bool:
        got = await api.client.put(url, json={"entry_step": "p1"}, headers=pro)
        return got.status_code == 200

    await eventually(allowed)
    after = (await _placements(api, t, "r-pro"))[0]
    assert after["status"] == "overridden" and after["effective_step"] == "p1"
    assert after["choices"][-1]["organisation"] == ORG
    events = await api.wait_for_event(t, "path_placed", count=2)
    assert events[-1]["data"]["source"] == "professional"
    started = await api.client.post(
        f"{PREFIX}/enrolments", json={"content_id": path["id"]}, headers=api.resident(t, "r-pro")
    )
    assert started.json()["entry_step"] == "p1"


async def test_rules_are_the_tenant_admins_and_must_name_real_entry_points(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    path = await _path_with_rules(api, t)
    bad = [
        {
            "id": "x",
            "family": "effect-monitor",
            "theme": "household_budget",
            "phase_min": 1,
            "path_id": path["id"],
            "entry_point": "nergens",
        },
        {
            "id": "y",
            "family": "effect-monitor",
            "theme": "household_budget",
            "phase_min": 1,
            "path_id": "geen-pad",
            "entry_point": "start",
        },
    ]
    put = await api.client.put(
        f"{PREFIX}/placement-rules", json={"rules": bad}, headers=api.admin(t)
    )
    assert put.status_code == 422
    assert [e["field"] for e in put.json()["errors"]] == [
        "rules[0].entry_point",
        "rules[1].path_id",
    ]
    kept = await api.client.get(f"{PREFIX}/placement-rules", headers=api.admin(t))
    assert len(kept.json()["rules"]) == 4
    denied = await api.client.put(
        f"{PREFIX}/placement-rules", json={"rules": []}, headers=api.professional(t)
    )
    assert denied.status_code == 403
    both = await api.client.put(
        f"{PREFIX}/placement-rules",
        json={"rules": [{**bad[0], "score_min": 2, "entry_point": "start"}]},
        headers=api.admin(t),
    )
    assert both.status_code == 422  # a phase range and a score band at once
