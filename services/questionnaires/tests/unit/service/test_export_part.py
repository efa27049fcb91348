"""The export's part (`service/export.part`) on the in-memory repositories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.service import export, invitations, responses
from questionnaires.service.context import Context
from wijkkracht_common.auth import Principal

pytestmark = pytest.mark.unit
TENANT = "zaanstreek"


async def test_part_holds_the_persons_responses_invitations_shares_and_fhir(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    assert (await export.part(ctx, TENANT, "person-x1"))["counts"] == {
        "responses": 0,
        "invitations": 0,
        "shares": 0,
        "fhir_resources": 0,
    }
    pro = principal("person-p1", de_smd=["professional"])
    invited = await invitations.create(
        ctx,
        pro,
        organisation="de-smd",
        instrument_id="health-short",
        person_id="person-x1",
        email=None,
        due_at=None,
        language=None,
    )
    record, _ = await responses.start(
        ctx,
        TENANT,
        instrument_id="health-short",
        version=None,
        language=None,
        person_id="person-x1",
        actor="person-x1",
        invitation=await invitations.load(ctx, TENANT, invited["id"]),
    )
    await responses.submit(
        ctx, TENANT, record, actor="person-x1", answers=answers_for(health_short, 3)
    )
    await (await uow.reader(TENANT)).shares.first_view(record.id, "de-smd", "view", ctx.now())

    part = await export.part(ctx, TENANT, "person-x1")
    assert part["counts"] == {"responses": 1, "invitations": 1, "shares": 1, "fhir_resources": 1}
    [response] = part["responses"]
    assert response["status"] == "submitted" and response["result"]["dimension_scores"]
    [invitation] = part["invitations"]
    assert invitation["status"] == "submitted" and invitation["email"] is None
    [share] = part["shares"]
    assert (share["shared_with"], share["format"]) == ("de-smd", "view")
    [entry] = part["fhir"]["entry"]
    assert entry["resource"]["subject"] == {"reference": "Patient/person-x1"}
    assert entry["fullUrl"] == f"urn:uuid:{record.id}"
