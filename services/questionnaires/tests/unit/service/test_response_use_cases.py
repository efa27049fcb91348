"""Response use cases on the in-memory unit of work: start, save, submit, idempotent retries,
assisted mode, invitations and anonymous responses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.catalog import shipped_instrument, shipped_instruments
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.service import invitations, responses
from questionnaires.service.context import Context
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, Forbidden, InvalidInput, NotFound

pytestmark = pytest.mark.unit
TENANT = "zaanstreek"


async def _start(ctx: Context, who: Principal, **kwargs: Any) -> Any:
    authorised = await responses.authorise_start(
        ctx,
        who,
        instrument_id=kwargs.pop("instrument_id", "health-short"),
        version=None,
        person_id=kwargs.pop("person_id", None),
        organisation=kwargs.pop("organisation", None),
        invitation_id=kwargs.pop("invitation_id", None),
    )
    return await responses.start_authorised(ctx, authorised, language=None, params={})


async def test_start_save_and_submit(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    me = principal("person-r1")
    record = await _start(ctx, me)
    assert (record.status, record.person_id, record.purpose) == (
        "in_progress",
        "person-r1",
        "self_assessment",
    )
    # The first use of the tenant published the shipped catalogue there, once.
    assert len(uow.events(TENANT, "instrument_published")) == len(shipped_instruments())

    answers = answers_for(health_short, 5)
    first_two = dict(list(answers.items())[:2])
    saved = await responses.save_as(ctx, me, record.id, first_two)
    assert saved.response.answers == first_two
    assert (await responses.load(ctx, TENANT, record.id)).response.answers == first_two

    loaded = await responses.load_changeable(ctx, me, record.id)
    out, replayed = await responses.submit(ctx, TENANT, loaded, actor=me.subject, answers=answers)
    assert not replayed
    assert out["status"] == "submitted" and out["result"]["dimension_scores"]
    [event] = uow.events(TENANT, "response_submitted")
    assert event["subject"] == record.id
    assert event["data"]["person_id"] == "person-r1" and event["data"]["assisted"] is False
    stored = await responses.load(ctx, TENANT, record.id)
    assert stored.status == "submitted"

    with pytest.raises(Conflict):  # submitted responses never change
        await responses.submit(ctx, TENANT, stored, actor=me.subject)
    with pytest.raises(Conflict):
        await responses.save_as(ctx, me, record.id, first_two)
    assert len(uow.events(TENANT, "response_submitted")) == 1


async def test_invalid_and_incomplete_submits_change_nothing(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
) -> None:
    me = principal("person-r1")
    record = await _start(ctx, me)
    with pytest.raises(InvalidInput) as incomplete:
        await responses.submit(ctx, TENANT, record, actor=me.subject)
    assert {e["code"] for e in incomplete.value.errors} == {"required"}
    with pytest.raises(InvalidInput) as invalid:
        await responses.submit(
            ctx, TENANT, record, actor=me.subject, answers={"zz": ItemAnswer(value=1)}
        )
    assert [e["code"] for e in invalid.value.errors] == ["unknown_item"]
    assert (await responses.load(ctx, TENANT, record.id)).status == "in_progress"
    assert uow.events(TENANT, "response_submitted") == []


async def test_two_submits_at_once_one_wins(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    me = principal("person-r1")
    record = await _start(ctx, me)
    other = await _start(ctx, me)
    answers = answers_for(health_short, 3)
    outcomes = await asyncio.gather(
        responses.submit(ctx, TENANT, record, actor=me.subject, answers=answers),
        responses.submit(ctx, TENANT, record, actor=me.subject, answers=answers),
        responses.submit(ctx, TENANT, other, actor=me.subject, answers=answers),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes[:2]) == ["Conflict", "tuple"]
    assert isinstance(outcomes[2], tuple)  # the other response of the batch still commits
    submitted = [e["subject"] for e in uow.events(TENANT, "response_submitted")]
    assert sorted(submitted) == sorted([record.id, other.id])


async def test_a_retry_with_the_idempotency_key_gets_the_first_result(
    ctx: Context,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    me = principal("person-r1")
    record = await _start(ctx, me)
    body = {"answers": "the same"}
    key = responses.submit_key("k-1", me.subject, lambda: body)
    answers = answers_for(health_short, 4)
    first, replayed = await responses.submit(
        ctx, TENANT, record, actor=me.subject, answers=answers, key=key
    )
    assert not replayed
    again, replayed = await responses.submit(
        ctx, TENANT, await responses.load(ctx, TENANT, record.id), actor=me.subject, key=key
    )
    assert replayed and again == first
    other_body = responses.submit_key("k-1", me.subject, lambda: {"answers": "other"})
    with pytest.raises(InvalidInput):
        stored = await responses.load(ctx, TENANT, record.id)
        await responses.submit(ctx, TENANT, stored, actor=me.subject, key=other_body)


async def test_only_the_owner_or_the_assisting_staff_member_changes_a_response(
    ctx: Context, uow: Any, principal: Callable[..., Principal]
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    assisted = await _start(ctx, pro, person_id="person-r2", organisation="de-smd")
    assert assisted.person_id == "person-r2" and assisted.assisted_by == "person-p1"
    assert assisted.organisation == "de-smd"
    [logged] = uow.store(TENANT).access_log
    assert logged == {
        "actor": "person-p1",
        "resident": "person-r2",
        "action": "create",
        "resource": f"response/{assisted.id}",
        "reason": "assisted",
        "on_behalf_of": "de-smd",
    }
    assert await responses.load_changeable(ctx, pro, assisted.id) == assisted
    assert await responses.load_changeable(ctx, principal("person-r2"), assisted.id) == assisted
    with pytest.raises(NotFound):
        await responses.load_changeable(ctx, principal("person-x"), assisted.id)
    with pytest.raises(NotFound):
        await responses.load_readable(ctx, principal("person-x"), assisted.id)

    with pytest.raises(Forbidden):  # assisted mode needs a staff role in the organisation
        await _start(ctx, principal("person-v"), person_id="person-r2", organisation="de-smd")
    with pytest.raises(InvalidInput):
        await _start(ctx, pro, person_id="person-r2")


async def test_invited_response_carries_the_invitation(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    resident = principal("person-r3")
    invited = await invitations.create(
        ctx,
        pro,
        organisation="de-smd",
        instrument_id="health-short",
        person_id="person-r3",
        email=None,
        due_at=None,
        language=None,
    )
    assert (await invitations.view(ctx, resident, invited["id"]))["status"] == "opened"
    with pytest.raises(NotFound):  # it is not for someone else
        await _start(ctx, principal("person-x"), invitation_id=invited["id"])
    with pytest.raises(InvalidInput):
        await _start(
            ctx, resident, invitation_id=invited["id"], instrument_id="client-satisfaction"
        )
    record = await _start(ctx, resident, invitation_id=invited["id"])
    assert record.invitation_id == invited["id"] and record.organisation == "de-smd"
    assert (await invitations.view(ctx, pro, invited["id"]))["status"] == "started"
    with pytest.raises(Conflict):  # used
        await _start(ctx, resident, invitation_id=invited["id"])

    await responses.submit(
        ctx, TENANT, record, actor=resident.subject, answers=answers_for(health_short, 2)
    )
    seen = await invitations.view(ctx, pro, invited["id"])
    assert (seen["status"], seen["response_id"]) == ("submitted", record.id)
    [event] = uow.events(TENANT, "response_submitted")
    assert event["data"]["invitation_id"] == invited["id"] and event["organisation"] == "de-smd"


async def test_anonymous_responses_need_their_resume_token(
    ctx: Context, principal: Callable[..., Principal]
) -> None:
    with pytest.raises(NotFound):  # a tenant the service does not know
        await responses.load_anonymous(ctx, "unknown", "r", "t")
    await _start(ctx, principal("person-r1"))  # the tenant is in use now
    record, token = await responses.start(
        ctx,
        TENANT,
        instrument_id="health-short",
        version=None,
        language="en",
        person_id=None,
        actor=None,
        anonymous=True,
    )
    assert token is not None and record.resume_hash is not None
    assert token not in record.resume_hash and record.response.language == "en"
    assert await responses.load_anonymous(ctx, TENANT, record.id, token) == record
    for wrong in (None, "", token + "x", "x" * 300):
        with pytest.raises(NotFound):
            await responses.load_anonymous(ctx, TENANT, record.id, wrong)
    with pytest.raises(NotFound):  # not readable with a token either
        await responses.load_readable(ctx, principal("person-r1"), record.id)


async def test_parameters_and_languages_are_checked_at_start(ctx: Context) -> None:
    parameterised = [d for d in shipped_instruments() if d.parameters]
    assert parameterised, "a shipped instrument with parameters"
    definition = parameterised[0]
    with pytest.raises(InvalidInput) as missing:
        await responses.start(
            ctx,
            TENANT,
            instrument_id=definition.id,
            version=None,
            language=None,
            person_id="p",
            actor="p",
        )
    assert {e["field"] for e in missing.value.errors} == {
        f"params.{p}" for p in definition.parameters
    }
    record, _ = await responses.start(
        ctx,
        TENANT,
        instrument_id=definition.id,
        version=None,
        language=None,
        person_id="p",
        actor="p",
        params={**{p: "Wijkkracht" for p in definition.parameters}, "extra": "dropped"},
    )
    assert dict(record.params) == {p: "Wijkkracht" for p in definition.parameters}
    assert shipped_instrument(definition.id).version == record.response.version
