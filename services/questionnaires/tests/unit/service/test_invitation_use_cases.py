"""Invitation use cases on the in-memory unit of work, with a clock the test moves: e-mail
links, reminders, and the sweep (expiry, one automatic reminder)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from questionnaires.service import invitations, responses
from questionnaires.service.context import Context
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, Forbidden, InvalidInput, NotFound

pytestmark = pytest.mark.unit
TENANT = "zaanstreek"


async def _invite(
    ctx: Context, who: Principal, due: datetime | None = None, **to: str
) -> dict[str, Any]:
    return await invitations.create(
        ctx,
        who,
        organisation="de-smd",
        instrument_id="health-short",
        person_id=to.get("person_id"),
        email=to.get("email"),
        due_at=due,
        language=None,
    )


async def test_who_invites_whom(
    ctx: Context, uow: Any, clock: Any, principal: Callable[..., Principal]
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    with pytest.raises(Forbidden):
        await _invite(ctx, principal("person-x", de_smd=["resident"]), person_id="r")
    with pytest.raises(InvalidInput):  # a person or an address, not both
        await _invite(ctx, pro, person_id="r", email="r@example.org")
    with pytest.raises(InvalidInput):
        await _invite(ctx, pro)
    with pytest.raises(InvalidInput):
        await _invite(ctx, pro, clock.now - timedelta(days=1), person_id="r")
    invited = await _invite(ctx, pro, clock.now + timedelta(days=5), person_id="person-r1")
    assert (invited["status"], invited["by_email"], invited["invited_by"]) == (
        "sent",
        False,
        "person-p1",
    )
    [event] = uow.events(TENANT, "invitation_sent")
    assert event["data"]["person_id"] == "person-r1" and event["organisation"] == "de-smd"
    assert uow.store(TENANT).mails == []  # account invitations: no mail
    with pytest.raises(NotFound):
        await invitations.view(ctx, principal("person-x"), invited["id"])
    listed, _ = await invitations.organisation_page(ctx, pro, "de-smd", limit=10, cursor=None)
    assert [i["id"] for i in listed] == [invited["id"]]
    mine, _ = await invitations.own_page(ctx, principal("person-r1"), limit=10, cursor=None)
    assert [i["id"] for i in mine] == [invited["id"]]
    # Overdue shows as expired at once, before any sweep stored it.
    clock.advance(days=6)
    assert (await invitations.view(ctx, pro, invited["id"]))["status"] == "expired"


async def test_email_invitation_link_opens_and_starts(
    ctx: Context, uow: Any, principal: Callable[..., Principal]
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    invited = await _invite(ctx, pro, email="buur@example.org")
    [mail] = uow.store(TENANT).mails
    assert mail.to == "buur@example.org" and mail.kind == "invitation"
    match = re.search(rf"/tenants/{TENANT}/invitation-links/(\S+)", mail.text)
    assert match is not None
    token = match.group(1)
    assert token not in str(uow.store(TENANT).links)  # only its hash is stored

    opened = await invitations.open_link(ctx, TENANT, token)
    assert opened["status"] == "opened" and "invited_by" not in opened
    with pytest.raises(NotFound):
        await invitations.open_link(ctx, TENANT, token + "x")
    record, resume = await responses.start_from_link(ctx, TENANT, token)
    assert record.invitation_id == invited["id"] and record.person_id is None
    assert await responses.load_anonymous(ctx, TENANT, record.id, resume) == record
    with pytest.raises(Conflict):  # the invitation was used
        await responses.start_from_link(ctx, TENANT, token)

    reminded = await invitations.remind(ctx, pro, invited["id"])
    assert reminded["reminders_sent"] == 1
    mails = uow.store(TENANT).mails
    assert [m.kind for m in mails] == ["invitation", "invitation_reminder"]
    assert "Herinnering" in mails[1].subject and token not in mails[1].text  # a new link
    with pytest.raises(NotFound):  # only staff of the organisation remind
        await invitations.remind(ctx, principal("person-x"), invited["id"])


async def test_sweep_expires_and_reminds_once(
    ctx: Context, uow: Any, clock: Any, principal: Callable[..., Principal]
) -> None:
    pro = principal("person-p1", de_smd=["professional"])
    start = clock.now
    by_mail = await _invite(ctx, pro, start + timedelta(days=10), email="a@example.org")
    by_account = await _invite(ctx, pro, start + timedelta(days=10), person_id="person-s1")
    soon = await _invite(ctx, pro, start + timedelta(days=2), person_id="person-s3")
    no_due = await _invite(ctx, pro, None, person_id="person-s4")

    at = start + timedelta(days=8)  # two days before the first two are due
    assert await invitations.sweep(ctx, at, [TENANT]) == {"expired": 1, "reminded": 2}
    assert await invitations.sweep(ctx, at, [TENANT]) == {"expired": 0, "reminded": 0}
    stored = uow.store(TENANT).invitations
    assert stored[soon["id"]].status == "expired"
    assert stored[by_account["id"]].reminders == 1 and stored[by_mail["id"]].reminders == 1
    assert stored[no_due["id"]].reminders == 0
    assert [m.kind for m in uow.store(TENANT).mails] == ["invitation", "invitation_reminder"]

    # An invitation due soon after it was sent is not reminded automatically.
    clock.now = at
    fresh = await _invite(ctx, pro, at + timedelta(days=1), person_id="person-s5")
    assert await invitations.sweep(ctx, at + timedelta(hours=1), [TENANT]) == {
        "expired": 0,
        "reminded": 0,
    }
    later = start + timedelta(days=11)
    assert await invitations.sweep(ctx, later, [TENANT]) == {"expired": 3, "reminded": 0}
    assert uow.store(TENANT).invitations[fresh["id"]].status == "expired"
    assert uow.store(TENANT).invitations[no_due["id"]].status == "sent"
