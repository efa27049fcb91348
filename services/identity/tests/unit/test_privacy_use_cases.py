"""Issue 10's use cases on in-memory fakes: consent versions, shared invitation answers,
export requests and parts, the access log in words, and what erasure leaves of exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from identity.domain.consent import ConsentPurpose
from identity.domain.memberships import Membership
from identity.domain.people import Person
from identity.domain.roles import Role
from identity.domain.tenancy import Organisation, OrganisationKind
from identity.service import consents, erasure, exports, people
from identity.service.access_log import describe
from identity.service.context import Identity
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.questionnaires import (
    InvitationAnswersShared,
    QuestionnairesPersonDataExported,
)
from wijkkracht_common.events.social_map import SocialMapPersonDataErased
from wijkkracht_common.messaging import PermanentError

from .fakes import FakeRuntime, FakeWorld, fake_identity

T = "zaanstreek"
SHARE = ConsentPurpose.SHARE_RESULTS
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def world() -> FakeWorld:
    world = FakeWorld()
    for slug, name in (("welzijn", "Welzijn Zaanstreek"), ("buurtwerk", "Buurtwerk")):
        world.of(T).organisations.organisations[slug] = Organisation(
            tenant=T, slug=slug, name=name, kind=OrganisationKind.WELFARE, created_at=CREATED
        )
    return world


def runtime(ctx: Identity) -> FakeRuntime:
    fake: FakeRuntime = ctx.runtime  # type: ignore[assignment]
    return fake


async def resident(ctx: Identity, email: str = "res@example.test") -> Principal:
    person, _ = await people.register_person(
        ctx,
        T,
        people.NewPerson(display_name="Ria Smit", email=email, password="a-long-pass-phrase"),
        memberships=[("welzijn", [Role.RESIDENT])],
        actor=None,
    )
    runtime(ctx).staged.clear()
    return Principal(subject=person.id, tenant=T, roles=frozenset({"resident"}))


def admin() -> Principal:
    return Principal(
        subject="admin-1",
        tenant=T,
        roles=frozenset({"tenant_admin"}),
        orgs={"welzijn": frozenset({"tenant_admin"})},
    )


def shared(person_id: str | None, org: str = "welzijn", at: datetime | None = None) -> Envelope:
    event = new_event(
        InvitationAnswersShared(
            invitation_id="inv-1", response_id="r-1", organisation_slug=org, person_id=person_id
        ),
        tenant=T,
        subject="r-1",
        actor="system",
    )
    return event if at is None else event.model_copy(update={"time": at})


# ---- consent versions and shared answers -------------------------------------------------------


async def test_consent_events_carry_their_ledger_version(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    await consents.change_consent(ctx, me, "welzijn", SHARE, grant=True)
    await consents.change_consent(ctx, me, "welzijn", SHARE, grant=False)
    await consents.change_consent(ctx, me, "welzijn", SHARE, grant=True)
    await consents.change_consent(ctx, me, "buurtwerk", SHARE, grant=True)
    versions = [(e.data.organisation_slug, e.data.version) for e in runtime(ctx).staged]
    assert versions == [("welzijn", 1), ("welzijn", 2), ("welzijn", 3), ("buurtwerk", 1)]
    runtime(ctx).staged.clear()
    await erasure.request_erasure(ctx, me)
    revoked = [e for e in runtime(ctx).staged if e.type.endswith("consent_revoked.v1")]
    assert sorted((e.data.organisation_slug, e.data.version) for e in revoked) == [
        ("buurtwerk", 2),
        ("welzijn", 4),
    ]


async def test_shared_answers_become_share_results_consent(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    person_id = str(me.person_id)
    stored = world.of(T)
    events = await consents.record_shared_answers(stored, shared(person_id), person_id)
    assert [(e.data.organisation_slug, e.data.purpose, e.data.version) for e in events] == [
        ("welzijn", "share_results", 1)
    ]
    assert events[0].actor == person_id
    ledger = await stored.consents.get(person_id)
    assert ledger.is_granted("welzijn", SHARE) and ledger.entries[0].by == person_id
    # Repeated: nothing new.
    assert await consents.record_shared_answers(stored, shared(person_id), person_id) == []
    # The resident withdrew it afterwards: an older shared event does not undo that.
    await consents.change_consent(ctx, me, "welzijn", SHARE, grant=False)
    late = shared(person_id, at=datetime.now(UTC) - timedelta(minutes=5))
    assert await consents.record_shared_answers(stored, late, person_id) == []
    assert not (await stored.consents.get(person_id)).is_granted("welzijn", SHARE)
    with pytest.raises(PermanentError):
        await consents.record_shared_answers(stored, shared(person_id, "nope"), person_id)
    with pytest.raises(PermanentError):
        await consents.record_shared_answers(stored, shared("nobody"), "nobody")


async def test_shared_answers_of_a_resident_leaving_are_not_recorded(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    await erasure.request_erasure(ctx, me)
    stored = world.of(T)
    person_id = str(me.person_id)
    assert await consents.record_shared_answers(stored, shared(person_id), person_id) == []
    assert (await stored.consents.get(person_id)).entries == ()


# ---- exports -------------------------------------------------------------------------------------


async def test_a_resident_export_is_logged_published_and_returned_again_while_running(
    world: FakeWorld,
) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    job, created = await exports.request_own(ctx, me)
    assert created and job.expected_services == ("questionnaires", "social_map")
    assert runtime(ctx).event_types() == ["person_export_requested"]
    assert runtime(ctx).staged[0].data.export_id == job.id
    (logged,) = world.of(T).access_log.logged
    assert (logged.action, logged.resource, logged.reason) == (
        "export",
        f"export/{job.id}",
        "resident_request",
    )
    again, created_again = await exports.request_own(ctx, me)
    assert again.id == job.id and not created_again
    assert len(runtime(ctx).staged) == 1
    # After `export_running_hours` a stuck export no longer blocks a new one.
    later = ctx.now() + timedelta(hours=ctx.settings.export_running_hours + 1)
    ctx.now = lambda: later  # type: ignore[method-assign]
    newer, created_newer = await exports.request_own(ctx, me)
    assert created_newer and newer.id != job.id


async def test_an_admin_exports_on_a_written_request_of_a_resident_of_the_tenant(
    world: FakeWorld,
) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    job, created = await exports.request_for_person(
        ctx, admin(), str(me.person_id), "brief van 3 maart"
    )
    assert created and job.by_admin and job.reason == "brief van 3 maart"
    (logged,) = world.of(T).access_log.logged
    assert (logged.reason, logged.on_behalf_of) == ("written_request", "welzijn")
    assert "brief" not in runtime(ctx).staged[0].model_dump_json()  # free text stays here
    with pytest.raises(NotFound):
        await exports.request_for_person(ctx, admin(), "someone-elsewhere", "brief")
    other = await resident(ctx, "other@example.test")
    with pytest.raises(NotFound):
        await exports.own_export(ctx, other, job.id)
    assert (await exports.own_export(ctx, me, job.id)).id == job.id


async def test_parts_are_recorded_once_per_service_for_the_right_person(world: FakeWorld) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    job, _ = await exports.request_own(ctx, me)
    stored = world.of(T)

    def answer(person_id: str, export_id: str = job.id) -> Envelope:
        return new_event(
            QuestionnairesPersonDataExported(
                export_id=export_id,
                person_id=person_id,
                object_name=f"{T}/{export_id}/questionnaires.json",
                counts={"responses": 2},
            ),
            tenant=T,
            subject=person_id,
        )

    await exports.record_part(stored, answer(str(me.person_id)), ctx.now())
    recorded = await stored.exports.get(job.id)
    assert recorded is not None and recorded.pending_services == ("social_map",)
    assert recorded.parts[0].counts == {"responses": 2}
    with pytest.raises(PermanentError):
        await exports.record_part(stored, answer("someone-else"), ctx.now())
    with pytest.raises(PermanentError):
        await exports.record_part(stored, answer(str(me.person_id), "x-unknown"), ctx.now())


async def test_identitys_own_part_holds_profile_memberships_consents_and_the_log(
    world: FakeWorld,
) -> None:
    ctx = fake_identity(world)
    me = await resident(ctx)
    await consents.change_consent(ctx, me, "welzijn", SHARE, grant=True)
    await consents.change_consent(ctx, me, "welzijn", SHARE, grant=False)
    await exports.request_own(ctx, me)
    part, lines = await exports.identity_part(world.of(T), str(me.person_id))
    assert part["profile"]["display_name"] == "Ria Smit"
    assert part["memberships"][0]["organisation_name"] == "Welzijn Zaanstreek"
    assert [(h["action"], h["version"], h["by"]) for h in part["consents"]["history"]] == [
        ("granted", 1, "resident"),
        ("revoked", 2, "resident"),
    ]
    assert part["counts"] == {
        "profile": 1,
        "memberships": 1,
        "consent_changes": 2,
        "access_log": 0,  # the projection fills from events (none on the fakes)
    }
    assert lines == []


async def test_erasure_deletes_export_jobs_and_keeps_their_object_names_for_the_purge(
    world: FakeWorld,
) -> None:
    ctx = fake_identity(world, erasure_expected_services=["social_map"])
    me = await resident(ctx)
    person_id = str(me.person_id)
    job, _ = await exports.request_own(ctx, me)
    await erasure.request_erasure(ctx, me)
    stored = world.of(T)
    confirmed = new_event(
        SocialMapPersonDataErased(person_id=person_id, erased={}), tenant=T, subject=person_id
    )
    await erasure.record_confirmation(ctx, stored, confirmed)
    status = await stored.erasures.get(erasure.erasure_key(T, person_id))
    assert status is not None and status.phase == "purging"
    assert await stored.exports.of_person(person_id) == []
    assert set(status.export_objects) == {
        f"{T}/{job.id}/archive.zip",
        f"{T}/{job.id}/questionnaires.json",
        f"{T}/{job.id}/social_map.json",
    }
    # Identity's own log entry of the export is kept, unlinked from the person.
    (logged,) = stored.access_log.logged
    assert person_id not in (logged.resident, logged.actor, logged.resource)


# ---- the access log in words ---------------------------------------------------------------


async def test_access_lines_name_staff_apps_and_former_staff(world: FakeWorld) -> None:
    from identity.domain.access_log import AccessRecord

    stored = world.of(T)
    pro = Person(id="pro-1", tenant=T, display_name="Jan de Vries", created_at=CREATED)
    await stored.people.add(pro)
    await stored.memberships.save(
        Membership(
            person_id="pro-1",
            tenant=T,
            organisation="welzijn",
            roles=frozenset({Role.PROFESSIONAL}),
        )
    )

    def record(actor: str, on_behalf_of: str | None) -> AccessRecord:
        return AccessRecord(
            id=f"e-{actor}",
            at=CREATED,
            resident="res-1",
            service="questionnaires",
            actor=actor,
            on_behalf_of=on_behalf_of,
            action="read",
            resource="response/r-1",
            reason="share_results",
        )

    lines = await describe(
        stored,
        "res-1",
        [
            record("pro-1", "welzijn"),
            record("gone-7", "welzijn"),
            record("client:zaanstreek.abc", None),
            record("res-1", None),
            record("system:questionnaires:sweep", None),
        ],
    )
    assert [line.who.nl for line in lines] == [
        "J. de Vries, sociaal werker",
        "Een medewerker (niet meer actief)",
        "Een gekoppelde app",
        "U zelf",
        "Wijkkracht (automatisch)",
    ]
    assert lines[0].organisation_name == "Welzijn Zaanstreek"
    assert lines[0].what.nl == "bekeek uw ingevulde vragenlijst"
    assert lines[0].why.nl == "U gaf toestemming om uw uitslagen te delen."
