"""Registering people, on in-memory fakes (no database): what is stored, which events are
staged, and that a refused registration leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from identity.domain.login_codes import hash_code
from identity.domain.neighbourhoods import Neighbourhood, NeighbourhoodTable
from identity.domain.roles import Role
from identity.domain.tenancy import Organisation, OrganisationKind
from identity.service import people
from identity.service.context import Identity
from wijkkracht_common.errors import Conflict, NotFound

from .fakes import FakeRuntime, FakeWorld, fake_identity

T = "zaanstreek"
TABLE = NeighbourhoodTable(
    neighbourhoods=(
        Neighbourhood(code="ZS01", name="Oost", lat=52.4, lon=4.8, postcodes=("1501", "1502")),
    )
)


@pytest.fixture
def world() -> FakeWorld:
    world = FakeWorld()
    repos = world.of(T)
    repos.organisations.organisations["welzijn"] = Organisation(
        tenant=T,
        slug="welzijn",
        name="Welzijn",
        kind=OrganisationKind.WELFARE,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    repos.neighbourhoods.table = TABLE
    return world


@pytest.fixture
def ctx(world: FakeWorld) -> Identity:
    return fake_identity(world)


def runtime(ctx: Identity) -> FakeRuntime:
    fake: FakeRuntime = ctx.runtime  # type: ignore[assignment]
    return fake


async def test_a_resident_registers_with_membership_and_events(
    ctx: Identity, world: FakeWorld
) -> None:
    person, code = await people.register_person(
        ctx,
        T,
        people.NewPerson(
            display_name="Ineke",
            email="Ineke@Example.test",
            password="a-long-pass-phrase",
            pc4="1502",
        ),
        memberships=[("welzijn", [Role.RESIDENT])],
        actor=None,
    )
    assert code is None
    stored = world.of(T)
    assert await stored.people.by_email("ineke@example.test") == person
    assert person.neighbourhood_code == "ZS01"  # derived from the tenant's table
    assert person.password_hash is not None and "a-long-pass-phrase" not in person.password_hash
    assert [m.roles for m in await stored.memberships.of_person(person.id)] == [{Role.RESIDENT}]
    assert runtime(ctx).event_types() == ["person_registered", "membership_changed"]
    registered = runtime(ctx).staged[0]
    assert registered.actor == person.id  # self-registration
    assert registered.data.kind == "resident" and registered.data.neighbourhood_code == "ZS01"
    assert "Ineke" not in registered.model_dump_json()  # events carry no names or e-mails
    assert "example.test" not in registered.model_dump_json()


async def test_a_taken_email_is_a_conflict_and_stores_nothing(
    ctx: Identity, world: FakeWorld
) -> None:
    await people.register_person(
        ctx,
        T,
        people.NewPerson(display_name="Eerste", email="same@example.test"),
        memberships=[("welzijn", [Role.RESIDENT])],
        actor=None,
    )
    with pytest.raises(Conflict):
        await people.register_person(
            ctx,
            T,
            people.NewPerson(display_name="Tweede", email="SAME@example.test"),
            memberships=[("welzijn", [Role.PROFESSIONAL])],
            actor="admin-1",
        )
    stored = world.of(T)
    assert [p.display_name for p in stored.people.people.values()] == ["Eerste"]
    assert len(stored.memberships.memberships) == 1
    assert runtime(ctx).event_types() == ["person_registered", "membership_changed"]


async def test_an_unknown_organisation_is_not_found(ctx: Identity, world: FakeWorld) -> None:
    with pytest.raises(NotFound):
        await people.register_person(
            ctx,
            T,
            people.NewPerson(display_name="X"),
            memberships=[("elders", [Role.RESIDENT])],
            actor=None,
        )
    assert world.of(T).people.people == {}
    assert runtime(ctx).staged == []


async def test_assisted_registration_returns_a_code_stored_only_as_a_keyed_hash(
    ctx: Identity, world: FakeWorld
) -> None:
    person, code = await people.register_person(
        ctx,
        T,
        people.NewPerson(display_name="Mevrouw J.", birth_year=1941),
        memberships=[("welzijn", [Role.RESIDENT])],
        actor="pro-1",
        assisted=True,
        login_code_by="pro-1",
    )
    assert code is not None
    stored = world.of(T).login_codes.codes
    assert list(stored) == [hash_code(code, ctx.pepper)]
    assert code not in repr(stored)
    assert stored[hash_code(code, ctx.pepper)].person_id == person.id
    registered = runtime(ctx).staged[0]
    assert registered.data.assisted is True and registered.actor == "pro-1"
    assert registered.data.age_band == "80+"


async def test_staff_registration_is_staff_kind(ctx: Identity) -> None:
    await people.register_person(
        ctx,
        T,
        people.NewPerson(display_name="Sam", email="sam@example.test", password="correct-horse-9"),
        memberships=[("welzijn", [Role.PROFESSIONAL])],
        actor="admin-1",
    )
    assert runtime(ctx).staged[0].data.kind == "staff"
