"""The closed loop of issues 12 and 13 on real NATS: learning paths' `module_completed` and the
marketplace's `help_completed` become interventions on the resident's trajectory (and the
helper's, as participation), once, per tenant, never for an erased person; with a baseline
before and a follow-up after, they show in the persona cells."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Harness, event, module_completed, read_subject, response, wait_for
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.events.marketplace import HelpCompleted

pytestmark = pytest.mark.integration
FEB, MAR, MAY = (datetime(2026, m, 10, tzinfo=UTC) for m in (2, 3, 5))
MODULE_DATES = {"started_at": FEB, "completed_at": MAR}


def help_completed(tenant: str, helped: str, helper: str) -> Any:
    data = HelpCompleted(
        match_id=f"m-{uuid.uuid4().hex[:8]}",
        post_id="post-1",
        category="administratie",
        neighbourhood_code="DM01",
        helper_id=helper,
        helped_person_id=helped,
        completed_at=MAR,
    )
    return event(data, tenant, data.match_id)


async def interventions(harness: Harness, tenant: str, person: str) -> list[dict[str, Any]]:
    db = await harness.db(tenant)
    return await db.interventions.find({"person_id": person}).to_list(None)


async def test_completed_modules_and_help_are_interventions_once_per_tenant(
    harness: Harness, two_tenants: Any
) -> None:
    a, b = two_tenants.a, two_tenants.b
    resident, helper = (f"p-{uuid.uuid4().hex[:8]}" for _ in range(2))
    # A baseline before and a follow-up after the module: the persona loop can use it.
    await harness.publish(response(a, resident, levels={"finances": 2}, at=FEB))
    done = module_completed(a, resident, f"en-{uuid.uuid4().hex[:8]}", **MODULE_DATES)
    await harness.publish(done)
    await harness.js.publish(  # delivered twice
        done.nats_subject, done.model_dump_json().encode(), headers={"Nats-Msg-Id": "twice"}
    )
    again = done.model_copy(update={"id": str(uuid.uuid4())})  # the same completion re-sent
    await harness.publish(again)
    helped = help_completed(a, resident, helper)
    await harness.publish(helped)

    async def recorded() -> list[dict[str, Any]] | None:
        mine = await interventions(harness, a, resident)
        theirs = await interventions(harness, a, helper)
        return mine + theirs if len(mine) == 2 and len(theirs) == 1 else None

    found = await wait_for(recorded)
    assert sorted((i["person_id"] == resident, i["type"]) for i in found) == [
        (False, "help_given_administratie"),
        (True, "help_received_administratie"),
        (True, "module_household_budget"),
    ]
    await harness.publish(response(a, resident, levels={"finances": 4}, at=MAY))
    db = await harness.db(a)

    async def in_persona() -> bool:
        cells = await db.persona_cells.find(
            {"intervention_type": "module_household_budget"}
        ).to_list(None)
        return any(c.get("change_count") for c in cells)

    await wait_for(in_persona)
    # Three deliveries of the completion, one intervention (by the inbox and by its id).
    assert len(await interventions(harness, a, resident)) == 2
    # Tenant isolation: nothing in the other tenant.
    assert await interventions(harness, b, resident) == []


async def test_an_erased_persons_completions_are_dropped(
    harness: Harness, two_tenants: Any
) -> None:
    tenant = two_tenants.a
    person, helper = (f"p-{uuid.uuid4().hex[:8]}" for _ in range(2))
    await harness.publish(event(PersonErasureRequested(person_id=person), tenant, person))

    async def erased() -> bool:
        answers = await read_subject(
            harness.js, f"wk.{tenant}.effect_measurement.person_data_erased.v1"
        )
        return any(e["data"]["person_id"] == person for e in answers)

    await wait_for(erased)
    done = module_completed(tenant, person, f"en-{uuid.uuid4().hex[:8]}", **MODULE_DATES)
    await harness.publish(done)
    await harness.publish(help_completed(tenant, person, helper))
    # The helper's participation still counts; nothing is written about the erased person.
    await wait_for(lambda: interventions(harness, tenant, helper))
    db = await harness.db(tenant)
    durable = "effect_measurement__learning_paths_module_completed_v1"
    await wait_for(lambda: db.inbox.find_one({"_id": f"{durable}:{done.id}"}))
    assert await interventions(harness, tenant, person) == []
