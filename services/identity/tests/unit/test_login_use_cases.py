"""Logging in on in-memory fakes: an attacker's failures delay the attacker's source, not
the owner's; the owner is told once; login codes are throttled per source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from identity.domain.roles import Role
from identity.domain.tenancy import Organisation, OrganisationKind
from identity.service import login, people
from identity.service.context import Identity
from identity.service.login import LoginRefused

from .fakes import FakeWorld, fake_identity

T = "zaanstreek"
EMAIL = "owner@example.test"
PASSWORD = "a-long-pass-phrase"
X, Y = "198.51.100.6", "203.0.113.9"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


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


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def ctx(world: FakeWorld, clock: Clock) -> Identity:
    ctx = fake_identity(world)
    ctx.now = clock  # type: ignore[method-assign]
    await people.register_person(
        ctx,
        T,
        people.NewPerson(display_name="Olga Owner", email=EMAIL, password=PASSWORD),
        memberships=[("welzijn", [Role.RESIDENT])],
        actor=None,
    )
    return ctx


async def wrong(ctx: Identity, source: str, email: str = EMAIL) -> None:
    with pytest.raises(LoginRefused) as refused:
        await login.login_with_password(ctx, T, email, "wrong-guess", source)
    assert refused.value.retry_after is None  # a plain "wrong", not a wait


async def test_five_wrong_from_x_do_not_stop_the_owner_on_y(ctx: Identity, clock: Clock) -> None:
    for _ in range(5):
        await wrong(ctx, X)
    person = await login.login_with_password(ctx, T, EMAIL, PASSWORD, Y)
    assert person.email == EMAIL
    with pytest.raises(LoginRefused) as refused:  # even the right password, from X
        await login.login_with_password(ctx, T, EMAIL, PASSWORD, X)
    assert refused.value.retry_after == 30
    assert "Te veel mislukte pogingen" in refused.value.text.nl


async def test_the_wait_doubles_and_waiting_works(ctx: Identity, clock: Clock) -> None:
    for _ in range(5):
        await wrong(ctx, X)
    clock.advance(10)
    with pytest.raises(LoginRefused) as early:  # refused attempts are not counted
        await login.login_with_password(ctx, T, EMAIL, "another-guess", X)
    assert early.value.retry_after == 20
    clock.advance(20)
    await wrong(ctx, X)  # the sixth failure
    with pytest.raises(LoginRefused) as longer:
        await login.login_with_password(ctx, T, EMAIL, PASSWORD, X)
    assert longer.value.retry_after == 60
    clock.advance(60)
    assert (await login.login_with_password(ctx, T, EMAIL, PASSWORD, X)).email == EMAIL


async def test_one_source_guessing_many_accounts_is_slowed(ctx: Identity) -> None:
    for n in range(20):
        await wrong(ctx, X, f"someone{n}@example.test")
    with pytest.raises(LoginRefused) as refused:
        await login.login_with_password(ctx, T, EMAIL, PASSWORD, X)
    assert refused.value.retry_after == 30
    assert (await login.login_with_password(ctx, T, EMAIL, PASSWORD, Y)).email == EMAIL


async def test_the_owner_gets_one_notice_dutch_first(
    ctx: Identity, world: FakeWorld, clock: Clock
) -> None:
    for source in (X, Y, X, Y):
        await wrong(ctx, source)
    assert world.of(T).mail.mails == []
    await wrong(ctx, "192.0.2.1")  # the fifth failure of the account, from any source
    (notice,) = world.of(T).mail.mails
    assert notice.to == EMAIL and notice.kind == "failed_logins"
    assert notice.subject.startswith("Mislukte inlogpogingen")
    assert notice.text.index("Beste Olga Owner") < notice.text.index("Dear Olga Owner")
    words = " ".join(notice.text.split())
    assert "5 keer fout" in words and "niet geblokkeerd" in words
    for _ in range(5):
        clock.advance(3600)
        await wrong(ctx, "192.0.2.2")
    assert len(world.of(T).mail.mails) == 1  # at most once per interval
    clock.advance(24 * 3600)
    for source in ("192.0.2.3",) * 5:
        await wrong(ctx, source)
    assert len(world.of(T).mail.mails) == 2


async def test_no_notice_for_an_account_that_does_not_exist(
    ctx: Identity, world: FakeWorld
) -> None:
    for source in (X, X, X, Y, Y, Y):
        await wrong(ctx, source, "nobody@example.test")
    assert world.of(T).mail.mails == []


async def test_login_codes_are_throttled_per_source(ctx: Identity) -> None:
    for _ in range(20):
        with pytest.raises(LoginRefused) as refused:
            await login.login_with_code(ctx, T, "K7MP-3QXA", X)
        assert refused.value.retry_after is None
    with pytest.raises(LoginRefused) as waiting:
        await login.login_with_code(ctx, T, "K7MP-3QXA", X)
    assert waiting.value.retry_after == 30
    with pytest.raises(LoginRefused) as other:
        await login.login_with_code(ctx, T, "K7MP-3QXA", Y)
    assert other.value.retry_after is None


async def test_a_password_change_is_throttled_like_a_login(ctx: Identity) -> None:
    person = await (await ctx.tenant(T)).people.by_email(EMAIL)
    assert person is not None
    for _ in range(5):
        with pytest.raises(LoginRefused):
            await login.check_current_password(ctx, person, "wrong-guess", X)
    with pytest.raises(LoginRefused) as refused:
        await login.check_current_password(ctx, person, PASSWORD, X)
    assert refused.value.retry_after == 30
    await login.check_current_password(ctx, person, PASSWORD, Y)
