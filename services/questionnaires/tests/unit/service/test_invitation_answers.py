"""An invited resident's answers reaching the conversation: the choice at the end of an
invited response, the share the result views honour, `invitation_answers_shared`, and
attaching a response filled in from the e-mail link to an account made later."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.service import (
    access,
    erasure,
    export,
    invitation_answers,
    invitations,
    responses,
)
from questionnaires.service.context import Context
from wijkkracht_common.auth import Principal
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.errors import Conflict, NotFound
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import PersonErasureRequested

pytestmark = pytest.mark.unit
TENANT = "zaanstreek"


async def _invited_by_email(
    ctx: Context,
    uow: Any,
    pro: Principal,
    answers: dict[str, ItemAnswer],
) -> tuple[str, str]:
    """A response filled in and submitted from the e-mail link; (response id, link token)."""
    await invitations.create(
        ctx,
        pro,
        organisation="de-smd",
        instrument_id="health-short",
        person_id=None,
        email="bewoner@example.org",
        due_at=None,
        language=None,
    )
    [mail] = uow.store(TENANT).mails
    match = re.search(rf"/tenants/{TENANT}/invitation-links/(\S+)", mail.text)
    assert match is not None
    token = match.group(1)
    record, _ = await responses.start_from_link(ctx, TENANT, token)
    await responses.submit(ctx, TENANT, record, actor=None, answers=answers)
    return record.id, token


async def _viewer(ctx: Context, uow: Any, who: Principal, response_id: str) -> Any:
    record = await responses.load(ctx, TENANT, response_id)
    return await access.viewer_of((await uow.reader(TENANT)).consents, who, record)


async def test_choice_from_the_email_link_then_attach(
    ctx: Context,
    uow: Any,
    clock: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    rid, token = await _invited_by_email(ctx, uow, pro, answers_for(health_short, 6))
    record = await responses.load(ctx, TENANT, rid)
    question = responses.present(record)["invitation_share"]
    assert question["organisation"] == "de-smd" and question["choice"] is None
    assert question["question"]["nl"].startswith("Mag de-smd uw antwoorden zien?")
    assert "first conversation" in question["question"]["en"]
    assert await _viewer(ctx, uow, pro, rid) is None  # nothing shared yet

    declined = await invitation_answers.choose(ctx, TENANT, record, share=False, actor=None)
    assert declined["invitation_share"]["choice"] == "declined"
    assert await _viewer(ctx, uow, pro, rid) is None
    shared = await invitation_answers.choose(ctx, TENANT, record, share=True, actor=None)
    assert shared["invitation_share"]["choice"] == "shared"
    again = await invitation_answers.choose(ctx, TENANT, record, share=True, actor=None)
    assert again == shared  # the same choice again: nothing new
    [event] = uow.events(TENANT, "invitation_answers_shared")
    assert event["data"]["person_id"] is None and event["data"]["organisation_slug"] == "de-smd"
    assert event["organisation"] == "de-smd" and event["subject"] == rid
    viewer = await _viewer(ctx, uow, pro, rid)
    assert viewer == access.Viewer("share_results", "de-smd")
    assert await _viewer(ctx, uow, principal("person-p9", andere=["professional"]), rid) is None

    # Attached to the account made later: shared again, now with the person.
    resident = principal("person-new")
    with pytest.raises(NotFound):  # a wrong token
        await invitation_answers.attach(ctx, resident, rid, token + "x")
    attached = await invitation_answers.attach(ctx, resident, rid, token)
    assert attached["person_id"] == "person-new"
    assert await invitation_answers.attach(ctx, resident, rid, token) == attached  # again
    with pytest.raises(NotFound):  # another person's response now
        await invitation_answers.attach(ctx, principal("person-other"), rid, token)
    events = uow.events(TENANT, "invitation_answers_shared")
    assert [e["data"]["person_id"] for e in events] == [None, "person-new"]
    [invitation] = uow.store(TENANT).invitations.values()
    assert invitation.person_id == "person-new"  # the resident's invitation now
    part = await export.part(ctx, TENANT, "person-new")  # in the resident's export
    assert [(s["shared_with"], s["format"]) for s in part["shares"]] == [
        ("de-smd", "invitation_answers")
    ]
    assert part["invitations"][0]["email"] == "bewoner@example.org"
    # The anonymous way in is closed; the resident's own is open.
    with pytest.raises(NotFound):
        await responses.load_anonymous(ctx, TENANT, rid, "any")
    assert (await _viewer(ctx, uow, resident, rid)) == access.Viewer("owner")
    # "No" after "yes" is a consent now: taken back in identity.
    with pytest.raises(Conflict):
        await invitation_answers.choose_as(ctx, resident, rid, share=False)

    # A revocation older than the choice does not hide it, a newer one does.
    consents = (await uow.reader(TENANT)).consents
    share_at = (await responses.load(ctx, TENANT, rid)).inviter_share
    assert share_at is not None
    older = ConsentState(
        "person-new", "de-smd", "share_results", False, 1, share_at.at - timedelta(seconds=1)
    )
    await consents.put(older)
    assert await _viewer(ctx, uow, pro, rid) is not None
    newer = ConsentState(
        "person-new", "de-smd", "share_results", False, 2, share_at.at + timedelta(seconds=1)
    )
    await consents.put(newer)
    assert await _viewer(ctx, uow, pro, rid) is None


async def test_choice_of_an_account_invitation_and_bad_input(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    resident = principal("person-r1")
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
    authorised = await responses.authorise_start(
        ctx,
        resident,
        instrument_id="health-short",
        version=None,
        person_id=None,
        organisation=None,
        invitation_id=invited["id"],
    )
    record = await responses.start_authorised(ctx, authorised, language=None, params={})
    await responses.submit(
        ctx, TENANT, record, actor="person-r1", answers=answers_for(health_short, 2)
    )
    with pytest.raises(NotFound):  # someone else's response
        await invitation_answers.choose_as(ctx, principal("person-x"), record.id, share=True)
    with pytest.raises(NotFound):  # not even the professional chooses for the resident
        await invitation_answers.choose_as(ctx, pro, record.id, share=True)
    out = await invitation_answers.choose_as(ctx, resident, record.id, share=True)
    assert out["invitation_share"]["choice"] == "shared"
    [event] = uow.events(TENANT, "invitation_answers_shared")
    assert event["data"]["person_id"] == "person-r1" and event["actor"] == "person-r1"
    # Seen at once (identity's consent event follows), before the first conversation.
    assert await _viewer(ctx, uow, pro, record.id) == access.Viewer("share_results", "de-smd")

    own, _ = await responses.start(
        ctx,
        TENANT,
        instrument_id="health-short",
        version=None,
        language=None,
        person_id="person-r1",
        actor="person-r1",
    )
    with pytest.raises(Conflict):  # not an invited response: there is nobody to share with
        await invitation_answers.choose_as(ctx, resident, own.id, share=True)
    assert "invitation_share" not in responses.present(own)


async def test_erasure_takes_an_attached_email_invitation_along(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    delivered: Callable[..., Any],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    rid, token = await _invited_by_email(ctx, uow, pro, answers_for(health_short, 1))
    await invitation_answers.attach(ctx, principal("person-att"), rid, token)
    effect = erasure.erase_person(ctx, TENANT, person_id="person-att", actor="identity")
    request = new_event(
        PersonErasureRequested(person_id="person-att"), tenant=TENANT, subject="person-att"
    )
    assert await uow.apply_once(request, delivered(), effect)
    [answer] = uow.events(TENANT, "person_data_erased")
    assert answer["data"]["erased"]["invitations"] == 1 and answer["data"]["erased"]["mails"] == 1
    store = uow.store(TENANT)
    assert store.responses == {} and store.invitations == {} and store.links == {}
    assert store.mails == []  # the address the invitation was sent to
