"""Every staff read or change of a resident's data is access-logged on behalf of the staff
member's organisation (NEN 7513); the resident's own actions are not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.service import invitations, responses
from questionnaires.service.context import Context
from wijkkracht_common.auth import Principal

pytestmark = pytest.mark.unit
TENANT = "zaanstreek"


def _log(uow: Any) -> list[tuple[str, str, str, str | None]]:
    return [
        (e["action"], e["resource"].split("/")[0], e["reason"], e["on_behalf_of"])
        for e in uow.store(TENANT).access_log
    ]


async def test_assisted_start_save_and_submit_are_logged(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    authorised = await responses.authorise_start(
        ctx,
        pro,
        instrument_id="health-short",
        version=None,
        person_id="person-r1",
        organisation="de-smd",
        invitation_id=None,
    )
    record = await responses.start_authorised(ctx, authorised, language=None, params={})
    answers = answers_for(health_short, 4)
    await responses.save_as(ctx, pro, record.id, dict(list(answers.items())[:1]))
    loaded = await responses.load_changeable(ctx, pro, record.id)
    await responses.submit_as(ctx, pro, loaded, answers=answers, key=None)
    assert _log(uow) == [
        ("create", "response", "assisted", "de-smd"),
        ("update", "response", "assisted", "de-smd"),
        ("update", "response", "assisted", "de-smd"),
    ]
    assert {e["actor"] for e in uow.store(TENANT).access_log} == {"person-p1"}
    assert {e["resident"] for e in uow.store(TENANT).access_log} == {"person-r1"}

    # The resident's own changes are not someone else's access.
    me = principal("person-r2")
    own = await responses.start_authorised(
        ctx,
        await responses.authorise_start(
            ctx,
            me,
            instrument_id="health-short",
            version=None,
            person_id=None,
            organisation=None,
            invitation_id=None,
        ),
        language=None,
        params={},
    )
    await responses.save_as(ctx, me, own.id, dict(list(answers.items())[:1]))
    await responses.submit_as(ctx, me, own, answers=answers, key=None)
    assert len(_log(uow)) == 3


async def test_invitations_of_residents_are_logged(
    ctx: Context, uow: Any, principal: Callable[..., Principal]
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    colleague = principal("person-p2", de_smd=["volunteer"])
    invited = await invitations.create(
        ctx,
        pro,
        organisation="de-smd",
        instrument_id="health-short",
        person_id="person-r1",
        email=None,
        due_at=None,
        language=None,
    )
    await invitations.create(  # an e-mail invitation names no resident here: nothing to log
        ctx,
        pro,
        organisation="de-smd",
        instrument_id="health-short",
        person_id=None,
        email="r@example.org",
        due_at=None,
        language=None,
    )
    await invitations.view(ctx, colleague, invited["id"])
    await invitations.remind(ctx, pro, invited["id"])
    await invitations.organisation_page(ctx, colleague, "de-smd", limit=10, cursor=None)
    await invitations.view(ctx, principal("person-r1"), invited["id"])  # the resident: no log
    assert _log(uow) == [
        ("create", "invitation", "invitation", "de-smd"),
        ("read", "invitation", "invitation", "de-smd"),
        ("update", "invitation", "invitation", "de-smd"),
        ("list", "invitations", "invitation", "de-smd"),
    ]
    assert [e["actor"] for e in uow.store(TENANT).access_log] == [
        "person-p1",
        "person-p2",
        "person-p1",
        "person-p2",
    ]
