"""Effects of consumed events (tenant registry, erasure, follow-ups), applied once through the
in-memory unit of work. (Consent is the shared projection of libs/common, tested there.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.service import (
    erasure,
    followups,
    invitations,
    responses,
    tenant_registry,
)
from questionnaires.service.context import Context
from wijkkracht_common.auth import Principal
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.effect_measurement import FollowupDue
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.events.identity import (
    PersonErasureRequested,
    TenantCreated,
)
from wijkkracht_common.messaging import Delivery
from wijkkracht_common.tenancy import PLATFORM_TENANT

pytestmark = pytest.mark.unit
TENANT = "zaanstreek"


def _event(data: EventData, tenant: str = TENANT) -> Envelope[Any]:
    return new_event(data, tenant=tenant, subject="s", actor="identity")


async def test_tenant_registry(ctx: Context, uow: Any, delivered: Callable[..., Delivery]) -> None:
    assert not await tenant_registry.is_known(ctx, "nieuw")
    envelope = _event(TenantCreated(tenant_slug="nieuw"), tenant=PLATFORM_TENANT)
    effect = tenant_registry.tenant_created(ctx, "nieuw")
    assert await uow.apply_once(envelope, delivered(), effect, database=PLATFORM_TENANT)
    assert not await uow.apply_once(envelope, delivered(), effect, database=PLATFORM_TENANT)
    assert "nieuw" in uow.store(PLATFORM_TENANT).tenants
    assert await tenant_registry.is_known(ctx, "nieuw")
    assert await tenant_registry.require_known(ctx, "nieuw") == "nieuw"
    for refused in (PLATFORM_TENANT, "Not A Slug", "onbekend"):
        with pytest.raises(NotFound):
            await tenant_registry.require_known(ctx, refused)


def _mentions(store: Any, person_id: str) -> list[str]:
    """The collections of a fake database that still contain the person's id."""
    kept = ("responses", "invitations", "links", "consents", "shares", "access_log", "mails")
    return [name for name in (*kept, "replays") if person_id in repr(getattr(store, name))]


async def test_erasure_deletes_everything_of_the_person_and_reports_counts(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    delivered: Callable[..., Delivery],
    answers_for: Callable[..., dict[str, ItemAnswer]],
) -> None:
    resident = principal("person-e1")
    pro = principal("person-p1", de_smd=["professional"])
    definition = shipped_instrument("client-satisfaction")
    free_text = [i.link_id for i in definition.items() if i.answer_type == "short_text"]
    assert free_text, "an instrument with a free-text item"
    answers = answers_for(definition, 2)
    answers[free_text[0]] = ItemAnswer(value="mijn buurvrouw Jannie helpt")
    done, _ = await responses.start(
        ctx,
        TENANT,
        instrument_id="client-satisfaction",
        version=None,
        language=None,
        person_id="person-e1",
        actor=pro.subject,
        assisted_by="person-p1",
        organisation="de-smd",
        staff=pro,
    )
    await responses.submit(ctx, TENANT, done, actor=pro.subject, answers=answers)
    await responses.start(
        ctx,
        TENANT,
        instrument_id="health-short",
        version=None,
        language=None,
        person_id="person-e1",
        actor=resident.subject,
    )
    await invitations.create(
        ctx,
        pro,
        organisation="de-smd",
        instrument_id="health-short",
        person_id="person-e1",
        email=None,
        due_at=None,
        language=None,
    )
    # The same professional helped another resident too.
    helped, _ = await responses.start(
        ctx,
        TENANT,
        instrument_id="health-short",
        version=None,
        language=None,
        person_id="person-e2",
        actor=pro.subject,
        assisted_by="person-p1",
        organisation="de-smd",
    )
    repos = await uow.reader(TENANT)
    await repos.consents.put(
        ConsentState("person-e1", "de-smd", "share_results", True, 1, ctx.now())
    )
    await repos.shares.first_view(done.id, "de-smd", "view", ctx.now())
    store = uow.store(TENANT)
    assert _mentions(store, "person-e1")

    envelope = _event(PersonErasureRequested(person_id="person-e1"))
    effect = erasure.erase_person(ctx, TENANT, person_id="person-e1", actor="identity")
    assert await uow.apply_once(envelope, delivered(), effect)
    [erased] = uow.events(TENANT, "person_data_erased")
    assert erased["data"]["erased"] == {
        "responses": 1,
        "responses_in_progress": 1,
        "shares": 1,
        "invitations": 1,
        "mails": 0,
        "consents": 1,
        "request_replays": 0,
    }
    # The assisted start and the invitation were access-logged.
    assert erased["data"]["anonymised"] == {"access_log": 2, "staff_records": 0}
    store = uow.store(TENANT)
    assert list(store.responses) == [helped.id]  # deleted, not anonymised
    assert store.invitations == {} and store.consents == {} and store.shares == {}
    assert _mentions(store, "person-e1") == []
    assert "person-e1" in store.erased
    # Kept for their retention, unlinked.
    assert [(e["resource"], e["on_behalf_of"]) for e in store.access_log] == [
        ("response/erased", "de-smd"),
        ("invitation/erased", "de-smd"),
    ]

    # A follow-up about the erased person arriving late is dropped.
    followup = await followups.followup_due(
        ctx,
        TENANT,
        person_id="person-e1",
        instrument_id="effect-monitor",
        trajectory_id="traj-e1",
        due_at=ctx.now(),
        organisation="de-smd",
    )
    late = _event(
        FollowupDue(
            trajectory_id="traj-e1",
            person_id="person-e1",
            instrument_id="effect-monitor",
            family="effect-monitor",
            sequence=1,
            due_at=ctx.now(),
        )
    )
    assert not await uow.apply_once(late, delivered(), followup, person="person-e1")
    assert uow.store(TENANT).invitations == {}

    # The same event again has no effect; a new request finds nothing left.
    assert not await uow.apply_once(envelope, delivered(), effect)
    again = _event(PersonErasureRequested(person_id="person-e1"))
    assert await uow.apply_once(again, delivered(), effect)
    counts = [e["data"]["erased"]["responses"] for e in uow.events(TENANT, "person_data_erased")]
    assert counts == [1, 0]

    # Erasing the professional: the other resident's response no longer names them.
    await invitations.create(
        ctx,
        pro,
        organisation="de-smd",
        instrument_id="health-short",
        person_id="person-e3",
        email=None,
        due_at=None,
        language=None,
    )
    staff = erasure.erase_person(ctx, TENANT, person_id="person-p1", actor="identity")
    assert await uow.apply_once(
        _event(PersonErasureRequested(person_id="person-p1")), delivered(), staff
    )
    answer = uow.events(TENANT, "person_data_erased")[-1]["data"]
    assert answer["anonymised"]["staff_records"] == 2
    store = uow.store(TENANT)
    # Only as the actor of access records: who looked at a resident's data stays accountable
    # (NEN 7513); unlinking actors is for libs/common's access log to decide.
    assert _mentions(store, "person-p1") == ["access_log"]
    assert {e["actor"] for e in store.access_log} == {"person-p1"}
    kept = store.responses[helped.id]
    assert (
        kept.person_id == "person-e2"
        and kept.assisted_by
        and kept.assisted_by.startswith("erased-")
    )


async def test_followup_due_becomes_an_invitation(
    ctx: Context, uow: Any, clock: Any, delivered: Callable[..., Delivery]
) -> None:
    due = clock.now - timedelta(days=2)  # delivered late: the window starts now
    effect = await followups.followup_due(
        ctx,
        TENANT,
        person_id="person-f1",
        instrument_id="effect-monitor",
        trajectory_id="traj-1",
        due_at=due,
        organisation="de-smd",
    )
    envelope = new_event(
        FollowupDue(
            trajectory_id="traj-1",
            person_id="person-f1",
            instrument_id="effect-monitor",
            family="effect-monitor",
            sequence=1,
            due_at=due,
        ),
        tenant=TENANT,
        subject="traj-1",
        actor="effect_measurement",
        organisation="de-smd",
    )
    assert await uow.apply_once(envelope, delivered(), effect)
    assert not await uow.apply_once(envelope, delivered(), effect)
    [invitation] = uow.store(TENANT).invitations.values()
    assert (invitation.person_id, invitation.followup_of, invitation.invited_by) == (
        "person-f1",
        "traj-1",
        "effect_measurement",
    )
    assert invitation.due_at == clock.now + timedelta(days=ctx.settings.followup_response_days)
    [sent] = uow.events(TENANT, "invitation_sent")
    assert sent["data"]["followup_of"] == "traj-1" and sent["organisation"] == "de-smd"

    with pytest.raises(NotFound):  # an instrument the tenant does not have
        await followups.followup_due(
            ctx,
            TENANT,
            person_id="person-f1",
            instrument_id="no-such-instrument",
            trajectory_id="traj-2",
            due_at=due,
            organisation=None,
        )
