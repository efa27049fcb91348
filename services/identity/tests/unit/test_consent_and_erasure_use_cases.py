"""Consent and erasure use cases on in-memory fakes (no database): grant/revoke, the
resident's erasure request, and its completion when every expected service confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from identity.domain.consent import ConsentAction, ConsentPurpose
from identity.domain.oauth_records import RefreshToken
from identity.domain.roles import Role
from identity.domain.tenancy import Organisation, OrganisationKind
from identity.service import consents, erasure, people
from identity.service.context import Identity
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, NotFound
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataErased
from wijkkracht_common.events.social_map import SocialMapPersonDataErased
from wijkkracht_common.messaging import PermanentError

from .fakes import FakeRuntime, FakeWorld, fake_identity

T = "zaanstreek"
SHARE = ConsentPurpose.SHARE_RESULTS


@pytest.fixture
def world() -> FakeWorld:
    world = FakeWorld()
    world.of(T).organisations.organisations["welzijn"] = Organisation(
        tenant=T,
        slug="welzijn",
        name="Welzijn",
        kind=OrganisationKind.WELFARE,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return world


def runtime(ctx: Identity) -> FakeRuntime:
    fake: FakeRuntime = ctx.runtime  # type: ignore[assignment]
    return fake


async def resident(ctx: Identity, email: str = "res@example.test") -> Principal:
    person, _ = await people.register_person(
        ctx,
        T,
        people.NewPerson(display_name="Res", email=email, password="a-long-pass-phrase"),
        memberships=[("welzijn", [Role.RESIDENT])],
        actor=None,
    )
    runtime(ctx).staged.clear()
    return Principal(subject=person.id, tenant=T, roles=frozenset({"resident"}))


# ---- consent ---------------------------------------------------------------------------------


async def test_grant_and_revoke_consent_keep_history_and_stage_events(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    ledger, changed = await consents.change_consent(ctx, me, "welzijn", SHARE, grant=True)
    assert changed and ledger.is_granted("welzijn", SHARE)
    again, changed_again = await consents.change_consent(ctx, me, "welzijn", SHARE, grant=True)
    assert not changed_again and again == ledger  # nothing to record, no event
    revoked, _ = await consents.change_consent(ctx, me, "welzijn", SHARE, grant=False)
    assert not revoked.is_granted("welzijn", SHARE)
    assert [e.action for e in revoked.entries] == [ConsentAction.GRANTED, ConsentAction.REVOKED]
    assert await consents.ledger_of(ctx, me) == revoked
    assert runtime(ctx).event_types() == ["consent_granted", "consent_revoked"]
    assert {e.organisation for e in runtime(ctx).staged} == {"welzijn"}


async def test_consent_for_an_unknown_organisation_is_not_found(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    with pytest.raises(NotFound):
        await consents.change_consent(ctx, me, "elders", SHARE, grant=True)
    assert runtime(ctx).staged == []


async def test_a_machine_client_has_no_consents(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    with pytest.raises(NotFound):
        await consents.ledger_of(ctx, Principal(subject="client:c1", tenant=T))


# ---- erasure ---------------------------------------------------------------------------------


def confirmation(
    event_cls: type[QuestionnairesPersonDataErased] | type[SocialMapPersonDataErased],
    person_id: str,
) -> Envelope[QuestionnairesPersonDataErased] | Envelope[SocialMapPersonDataErased]:
    return new_event(
        event_cls(person_id=person_id, erased={"things": 2}),
        tenant=T,
        subject=person_id,
        actor="system",
    )


async def test_an_erasure_request_revokes_consents_and_waits_for_the_services(
    world: FakeWorld,
) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    await consents.change_consent(ctx, me, "welzijn", SHARE, grant=True)
    runtime(ctx).staged.clear()

    at = await erasure.request_erasure(ctx, me)

    assert runtime(ctx).event_types() == ["consent_revoked", "person_erasure_requested"]
    status = await erasure.own_status(ctx, me)
    assert status.requested_at == at
    assert status.pending_services == ("questionnaires", "social_map")
    person = await world.of(T).people.get(str(me.person_id))
    assert person is not None and person.is_active  # erased only when the services confirmed
    with pytest.raises(Conflict):
        await erasure.request_erasure(ctx, me)


async def test_the_last_confirmation_erases_identitys_own_data(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    person_id = str(me.person_id)
    await consents.change_consent(ctx, me, "welzijn", SHARE, grant=True)
    now = ctx.now()
    await world.of(T).grants.add_refresh(
        RefreshToken(
            token_hash="h1",
            family_id="f1",
            client_id=f"{T}.app",
            tenant=T,
            subject=person_id,
            scopes=("openid",),
            auth_time=now,
            issued_at=now,
            expires_at=now + timedelta(days=14),
            family_expires_at=now + timedelta(days=60),
            access_jti="jti-1",
            access_expires_at=now + timedelta(minutes=15),
        )
    )
    await erasure.request_erasure(ctx, me)
    runtime(ctx).staged.clear()
    stored = world.of(T)

    first = confirmation(QuestionnairesPersonDataErased, person_id)
    assert await erasure.record_confirmation(ctx, stored, first) == []
    key = erasure.erasure_key(T, person_id)
    status = await stored.erasures.get(key)
    assert status is not None and status.pending_services == ("social_map",)

    last = confirmation(SocialMapPersonDataErased, person_id)
    events = await erasure.record_confirmation(ctx, stored, last)

    assert [e.type.split(".")[-2] for e in events] == [
        "membership_changed",
        "person_disabled",
        "person_erasure_completed",
    ]
    assert events[0].data.roles == []
    assert sorted(events[-1].data.services) == ["questionnaires", "social_map"]
    done = await stored.erasures.get(key)
    assert done is not None and done.is_complete and done.phase == "purging"
    assert await stored.people.get(person_id) is None  # deleted, not a tombstone
    assert await stored.people.by_email("res@example.test") is None  # may register again
    assert await stored.memberships.of_person(person_id) == []
    assert stored.consents.ledgers == {}  # the ledger is deleted
    assert await stored.grants.is_denied("jti-1")
    assert await stored.grants.get_refresh("h1") is None  # deleted
    assert stored.erased_persons.remembered == {(T, person_id)}
    with pytest.raises(NotFound):
        await erasure.own_status(ctx, me)  # the account is gone


async def test_without_expected_services_an_erasure_completes_at_once(world: FakeWorld) -> None:
    ctx = fake_identity(world, erasure_expected_services=[])
    me = await resident(ctx)
    await erasure.request_erasure(ctx, me)
    assert runtime(ctx).event_types() == [
        "person_erasure_requested",
        "membership_changed",
        "person_disabled",
        "person_erasure_completed",
    ]
    status = await world.of(T).erasures.get(erasure.erasure_key(T, str(me.person_id)))
    assert status is not None and status.is_complete


async def test_a_confirmation_nobody_asked_for_can_never_apply(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    with pytest.raises(PermanentError):
        await erasure.record_confirmation(
            ctx,
            world.of(T),
            confirmation(QuestionnairesPersonDataErased, str(me.person_id)),
        )


async def test_an_overdue_erasure_is_requested_again(world: FakeWorld) -> None:
    ctx = fake_identity(world, erasure_reminder_hours=1)
    me = await resident(ctx)
    await erasure.request_erasure(ctx, me)
    stored = world.of(T)
    status = await stored.erasures.get(erasure.erasure_key(T, str(me.person_id)))
    assert status is not None
    await stored.erasures.save(
        status.model_copy(update={"requested_at": status.requested_at - timedelta(hours=2)})
    )
    runtime(ctx).staged.clear()

    assert await erasure.remind_pending(ctx) == 1
    assert runtime(ctx).event_types() == ["person_erasure_requested"]
    assert runtime(ctx).staged[0].actor == erasure.REMINDER_ACTOR
    assert await erasure.remind_pending(ctx) == 0  # just reminded
