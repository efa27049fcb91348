"""Baseline → follow-up due → follow-up response → change visible; duplicates; dead letters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Harness, read_subject, response, running, wait_for

pytestmark = pytest.mark.integration


async def test_baseline_followup_due_and_change(harness: Harness, two_tenants) -> None:  # type: ignore[no-untyped-def]
    tenant, person = two_tenants.a, f"p-{uuid.uuid4().hex[:8]}"
    baseline = response(
        tenant,
        person,
        levels={"finances": 2, "housing": 3},
        at=datetime.now(UTC) - timedelta(seconds=5),
    )
    await harness.publish(baseline)
    db = await harness.db(tenant)
    doc = await wait_for(lambda: db.measurements.find_one({"_id": baseline.data.response_id}))
    trajectory = doc["trajectory_id"]

    # The scheduler announces the follow-up (short schedule in the test settings), once.
    dues = await wait_for(lambda: _followups(harness, tenant, trajectory))
    assert [d["data"]["sequence"] for d in dues] == [1]
    assert dues[0]["data"]["person_id"] == person
    recorded = await read_subject(
        harness.js, f"wk.{tenant}.effect_measurement.measurement_recorded.v1"
    )
    assert [r["data"]["sequence"] for r in recorded] == [0]

    follow_up = response(
        tenant, person, levels={"finances": 4, "housing": 3}, trajectory_id=trajectory
    )
    await harness.publish(follow_up)
    headers = harness.headers(tenant, person, {"welzijn-a": ["resident"]})

    async def changed() -> object:
        body = (await harness.client.get("/effects/v1/me/trajectories", headers=headers)).json()
        items = body["items"]
        return items if items and items[0]["measurements"] == 2 else None

    items = await changed_or_fail(changed)
    changes = items[0]["tracks"][0]["changes"]
    assert changes["finances"] == {
        "baseline": 2.0,
        "value": 4.0,
        "delta": 2.0,
        "outcome": "improved",
    }
    assert changes["housing"]["outcome"] == "same"
    chart = await harness.client.get(
        f"/effects/v1/me/trajectories/{trajectory}/chart.svg", headers=headers
    )
    assert chart.status_code == 200 and chart.text.startswith("<svg")

    # The follow-up waits for the next one; the first announcement is never repeated.
    dues = await wait_for(lambda: _followups(harness, tenant, trajectory, at_least=2))
    assert sorted(d["data"]["sequence"] for d in dues) == [1, 2]

    goal = await harness.client.post(
        f"/effects/v1/me/trajectories/{trajectory}/goals",
        json={"dimension": "finances", "target": 5},
        headers=headers,
    )
    assert goal.status_code == 201
    bad = await harness.client.post(
        f"/effects/v1/me/trajectories/{trajectory}/goals",
        json={"dimension": "finances", "target": 7},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


async def changed_or_fail(predicate):  # type: ignore[no-untyped-def]
    return await wait_for(predicate)


async def _followups(
    harness: Harness, tenant: str, trajectory: str, at_least: int = 1
) -> list[dict[str, object]] | None:
    found = [
        d
        for d in await read_subject(harness.js, f"wk.{tenant}.effect_measurement.followup_due.v1")
        if d["data"]["trajectory_id"] == trajectory
    ]
    return found if len(found) >= at_least else None


@pytest.fixture
async def slow_schedule(nats_url: str, mongo_url: str, test_issuer) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    # Long enough for two ingestions on a loaded CI machine, short enough for the suite.
    async with running(nats_url, mongo_url, test_issuer, followup_after_seconds=6.0) as h:
        yield h


async def test_a_follow_up_before_the_due_date_takes_over_the_schedule(  # type: ignore[no-untyped-def]
    slow_schedule: Harness, two_tenants
) -> None:
    """Measured again before the baseline came due: only the new measurement is followed up
    (the scheduler finds the baseline superseded when it comes due and announces nothing)."""
    harness, tenant = slow_schedule, two_tenants.a
    person = f"p-{uuid.uuid4().hex[:8]}"
    db = await harness.db(tenant)
    baseline = response(tenant, person, levels={"finances": 2})
    await harness.publish(baseline)
    first = await wait_for(lambda: db.measurements.find_one({"_id": baseline.data.response_id}))
    early = response(tenant, person, levels={"finances": 3}, trajectory_id=first["trajectory_id"])
    await harness.publish(early)
    await wait_for(lambda: db.measurements.find_one({"_id": early.data.response_id}))

    dues = await wait_for(lambda: _followups(harness, tenant, first["trajectory_id"]))
    assert [d["data"]["sequence"] for d in dues] == [2]
    cleared = await db.measurements.find_one({"_id": baseline.data.response_id})
    assert cleared["followup_pending"] is False or cleared["followup_pending"] == 0
    assert "followup_announced" not in cleared
