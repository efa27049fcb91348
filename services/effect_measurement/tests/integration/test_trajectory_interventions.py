"""Interventions in the trajectory views (issue 12: "effect measurement shows the completion as
an intervention"), through the real app on real NATS and the embedded database: the resident
sees every intervention after the trajectory's baseline, whatever its source; a professional
with `share_results` only what its source's consent shows them (a completed module needs
`share_learning_progress`, logged on behalf of that organisation too); 404 without consent,
in another organisation or another tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import (
    ORG,
    Harness,
    event,
    measured,
    module_completed,
    new_person,
    pro,
    register,
    response,
    share,
    wait_for,
)
from wijkkracht_common.events.marketplace import HelpCompleted

pytestmark = pytest.mark.integration
PREFIX = "/effects/v1"
JAN, FEB, MAR, APR = (datetime(2026, m, 10, 9, tzinfo=UTC) for m in (1, 2, 3, 4))
HELPED = MAR.replace(day=20)


async def measured_and_shared(harness: Harness, tenant: str) -> str:
    """A new resident with a baseline in February who shares results with `ORG`."""
    person = new_person()
    await register(harness, tenant, person)
    await measured(harness, tenant, response(tenant, person, levels={"finances": 2}, at=FEB))
    await share(harness, tenant, person)
    return person


async def record(harness: Harness, tenant: str, person: str, ident: str, at: datetime) -> None:
    got = await harness.client.post(
        f"{PREFIX}/interventions",
        json={
            "intervention_id": ident,
            "person_id": person,
            "type": "debt_help",
            "occurred_at": at.isoformat(),
        },
        headers=pro(harness, tenant),
    )
    assert got.status_code == 201, got.text


def interventions(body: dict[str, Any]) -> list[dict[str, Any]]:
    [trajectory] = body["items"]
    return list(trajectory["interventions"])


async def test_the_trajectory_views_show_the_interventions_each_may_see(
    harness: Harness, two_tenants: Any
) -> None:
    tenant = two_tenants.a
    person = await measured_and_shared(harness, tenant)
    await record(harness, tenant, person, "before-the-baseline", JAN)
    await record(harness, tenant, person, "by-hand", APR)
    enrolment = f"en-{new_person()}"
    await harness.publish(
        module_completed(tenant, person, enrolment, started_at=FEB, completed_at=MAR)
    )
    neighbours = HelpCompleted(  # between neighbours: no organisation
        match_id=f"m-{new_person()}",
        post_id="post-1",
        category="klussen",
        neighbourhood_code="DM01",
        helped_person_id=person,
        completed_at=HELPED,
    )
    await harness.publish(event(neighbours, tenant, neighbours.match_id))
    mine = harness.headers(tenant, person, {ORG: ["resident"]})

    async def all_three() -> list[dict[str, Any]] | None:
        got = await harness.client.get(f"{PREFIX}/me/trajectories", headers=mine)
        assert got.status_code == 200, got.text
        found = interventions(got.json())
        return found if len(found) == 3 else None

    # The resident: all of them after the baseline, by time; the one before it in none.
    own = await wait_for(all_three)
    assert [(i["intervention_id"], i["type"], i["source"], i["organisation"]) for i in own] == [
        (f"learning_paths:{enrolment}", "module_household_budget", "learning_paths", ORG),
        (f"marketplace:{neighbours.match_id}:helped", "help_received_klussen", "marketplace", None),
        ("by-hand", "debt_help", "recorded", ORG),
    ]
    assert [datetime.fromisoformat(i["occurred_at"]) for i in own] == [MAR, HELPED, APR]
    assert set(own[0]) == {"intervention_id", "type", "source", "organisation", "occurred_at"}

    # A professional with `share_results`: what was recorded for their organisation only.
    url = f"{PREFIX}/people/{person}/trajectories"
    seen = await harness.client.get(url, headers=pro(harness, tenant))
    assert seen.status_code == 200, seen.text
    assert [i["intervention_id"] for i in interventions(seen.json())] == ["by-hand"]
    db = await harness.db(tenant)
    logged = await db.access_log.find({"resident": person}).to_list(None)
    assert [(e["on_behalf_of"], e["reason"]) for e in logged] == [(ORG, "share_results")]

    # With `share_learning_progress` too: the completed module, and that consent's log entry.
    await share(harness, tenant, person, purpose="share_learning_progress")
    seen = await harness.client.get(url, headers=pro(harness, tenant))
    assert [i["intervention_id"] for i in interventions(seen.json())] == [
        f"learning_paths:{enrolment}",
        "by-hand",
    ]
    logged = await db.access_log.find({"resident": person}).to_list(None)
    assert sorted((e["reason"], e["resource"]) for e in logged[1:]) == [
        ("share_learning_progress", f"interventions/{person}"),
        ("share_results", f"trajectories/{person}"),
    ]

    # Without consent, in another organisation, in another tenant: 404, as for trajectories.
    other = pro(harness, tenant, sub="pro-b", org="buurt-b")
    assert (await harness.client.get(url, headers=other)).status_code == 404
    b = two_tenants.b
    assert (await harness.client.get(url, headers=pro(harness, b))).status_code == 404
    theirs = harness.headers(b, person, {ORG: ["resident"]})
    in_b = await harness.client.get(f"{PREFIX}/me/trajectories", headers=theirs)
    assert in_b.status_code == 200 and in_b.json()["items"] == []


async def test_a_professional_without_consent_gets_404_though_interventions_exist(
    harness: Harness, two_tenants: Any
) -> None:
    tenant = two_tenants.a
    person = await measured_and_shared(harness, tenant)
    await record(harness, tenant, person, "by-hand", APR)
    await share(harness, tenant, person, granted=False, version=2)

    url = f"{PREFIX}/people/{person}/trajectories"
    assert (await harness.client.get(url, headers=pro(harness, tenant))).status_code == 404
    db = await harness.db(tenant)
    assert await db.access_log.count_documents({"resident": person}) == 0
