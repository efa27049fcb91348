"""The main use cases without a database: the repository is an in-memory fake, the runtime's
commit runs the work directly (model: cosmicpython's tests/unit/test_handlers.py)."""

from __future__ import annotations

import inspect
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from social_map.adapters.repositories import Repository
from social_map.domain.freshness import FreshnessPolicy, FreshnessState
from social_map.service import entries, freshness
from social_map.service.context import ServiceContext
from social_map_fakes import (
    ADMIN,
    RESIDENT,
    WALK,
    FakeClock,
    FakeRepository,
    FakeRuntime,
    fake_context,
    person,
)
from wijkkracht_common.errors import Forbidden, NotFound

T = "t1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> tuple[ServiceContext, FakeRuntime]:
    return fake_context(clock)


async def _publish(ctx: ServiceContext, **overrides: object) -> str:
    stored = await entries.create_entry(ctx, ADMIN, entries.EntryDraft(**{**WALK, **overrides}))
    return stored.entry.id


async def test_an_org_admin_publishes_an_entry(app: tuple[ServiceContext, FakeRuntime]) -> None:
    ctx, runtime = app
    stored = await entries.create_entry(ctx, ADMIN, entries.EntryDraft(**WALK))
    assert stored.freshness is FreshnessState.FRESH and stored.version == 1
    assert stored.owner_slug == "org-a" and stored.entry.assured_by == "p-admin"
    assert runtime.events(T) == ["entry_published"]
    # the admin's first entry created the owner record of its organisation
    assert runtime.data(T).organisations["org-a"].tenant_org_slug == "org-a"
    assert (await entries.load(ctx, T, stored.entry.id)).entry.name == WALK["name"]


async def test_only_the_owner_or_a_manager_edits(app: tuple[ServiceContext, FakeRuntime]) -> None:
    ctx, runtime = app
    entry_id = await _publish(ctx)
    other = person("p-other", org_b=["org_admin"])
    with pytest.raises(Forbidden):
        await entries.update_entry(ctx, other, entry_id, entries.EntryDraft(**WALK))
    manager = person("p-m", gemeente=["neighbourhood_manager"])
    edited = await entries.update_entry(
        ctx, manager, entry_id, entries.EntryDraft(**{**WALK, "name": "Wandelclub"})
    )
    assert edited.entry.name == "Wandelclub" and edited.version == 2
    assert runtime.events(T) == ["entry_published", "entry_updated"]


async def test_an_edit_counts_as_a_check_and_closes_the_reports(
    app: tuple[ServiceContext, FakeRuntime], clock: FakeClock
) -> None:
    ctx, _ = app
    entry_id = await _publish(ctx)
    await entries.report_outdated(ctx, RESIDENT, entry_id, "Ze lopen nu op woensdag")
    clock.now += timedelta(days=3)
    edited = await entries.update_entry(ctx, ADMIN, entry_id, entries.EntryDraft(**WALK))
    assert edited.entry.assured_at == clock.now and edited.entry.open_reports == []
    assert edited.freshness is FreshnessState.FRESH
    done = await entries.tasks(ctx, ADMIN, "done")
    assert [(t.status, t.closed_at) for t in done] == [("done", clock.now)]
    assert await entries.tasks(ctx, ADMIN, "open") == []


async def test_a_report_makes_the_entry_due_at_once_and_opens_a_task(
    app: tuple[ServiceContext, FakeRuntime],
) -> None:
    ctx, runtime = app
    entry_id = await _publish(ctx)
    task = await entries.report_outdated(ctx, RESIDENT, entry_id, "  Ze lopen nu op woensdag ")
    assert task.note == "Ze lopen nu op woensdag" and task.reporter == "p-res"
    assert runtime.events(T)[1:] == ["entry_verification_due", "correction_reported"]
    assert (await entries.load(ctx, T, entry_id)).freshness is FreshnessState.DUE
    [mail] = runtime.data(T).mails
    assert mail.to == "wandel@org-a.example" and "/verification/" in mail.text
    assert [t.id for t in await entries.tasks(ctx, ADMIN, "open")] == [task.id]
    with pytest.raises(Forbidden):  # a resident manages nothing
        await entries.tasks(ctx, RESIDENT, "open")


async def test_a_failed_use_case_changes_nothing(app: tuple[ServiceContext, FakeRuntime]) -> None:
    ctx, runtime = app
    with pytest.raises(NotFound):
        await entries.report_outdated(ctx, RESIDENT, "no-such-entry", "weg")
    assert runtime.events(T) == [] and runtime.data(T).tasks == {}


async def test_the_sweep_announces_each_threshold_once_and_the_link_verifies(
    app: tuple[ServiceContext, FakeRuntime], clock: FakeClock
) -> None:
    ctx, runtime = app
    entry_id = await _publish(ctx)
    assert await freshness.sweep_tenant(ctx, T, clock.now) == 0
    clock.now += timedelta(days=151)
    assert await freshness.sweep_tenant(ctx, T, clock.now) == 1
    assert await freshness.sweep_tenant(ctx, T, clock.now) == 0  # idempotent
    assert runtime.events(T)[-1] == "entry_verification_due"
    stored = await entries.load(ctx, T, entry_id)
    assert stored.freshness is FreshnessState.DUE and stored.version == 2

    link = re.search(r"/verification/(\S+)", runtime.data(T).mails[-1].text)
    assert link is not None
    verified = await entries.verify_by_link(ctx, unquote(link.group(1)))
    assert verified.freshness is FreshnessState.FRESH and verified.entry.assured_at == clock.now
    assert runtime.events(T)[-1] == "entry_verified"

    clock.now += timedelta(days=200)  # past stale: the reminder and the warning at once
    assert await freshness.sweep_tenant(ctx, T, clock.now) == 1
    assert runtime.events(T)[-2:] == ["entry_verification_due", "entry_went_stale"]


async def test_the_owner_verifies_by_api(
    app: tuple[ServiceContext, FakeRuntime], clock: FakeClock
) -> None:
    ctx, _ = app
    entry_id = await _publish(ctx)
    clock.now += timedelta(days=280)
    assert await freshness.sweep_tenant(ctx, T, clock.now) == 1
    hidden, _ = await entries.read_entry(ctx, ADMIN, entry_id)  # the owner still sees it
    assert hidden.freshness is FreshnessState.HIDDEN
    with pytest.raises(NotFound):  # everyone else: as if it did not exist
        await entries.read_entry(ctx, RESIDENT, entry_id)
    with pytest.raises(Forbidden):
        await entries.verify_entry(ctx, RESIDENT, entry_id)
    verified = await entries.verify_entry(ctx, ADMIN, entry_id)
    assert verified.freshness is FreshnessState.FRESH
    assert (await entries.read_entry(ctx, RESIDENT, entry_id))[1] is False


async def test_the_sweep_decides_with_the_policy_stored_now(
    app: tuple[ServiceContext, FakeRuntime], clock: FakeClock
) -> None:
    ctx, runtime = app
    entry_id = await _publish(ctx)
    assert (await ctx.view(T)).policy.remind_after_days == 150  # cached by this replica
    clock.now += timedelta(days=40)
    other_replica = FakeRepository(T, runtime.data(T))
    await other_replica.save_policy(
        FreshnessPolicy(remind_after_days=30, stale_after_days=60, hidden_after_days=90)
    )
    await other_replica.recheck_all_entries(clock.now)
    assert await freshness.sweep_tenant(ctx, T, clock.now) == 1
    assert (await entries.load(ctx, T, entry_id)).freshness is FreshnessState.DUE
    assert runtime.data(T).entries[entry_id].next_check_at == clock.now + timedelta(days=20)


async def test_a_manager_runs_the_sweep_now_and_only_their_tenant_sees_it(
    app: tuple[ServiceContext, FakeRuntime], clock: FakeClock
) -> None:
    ctx, runtime = app
    await _publish(ctx)
    clock.now += timedelta(days=151)
    with pytest.raises(Forbidden):
        await freshness.run_now(ctx, ADMIN)
    manager = person("p-m", gemeente=["neighbourhood_manager"])
    report = await freshness.run_now(ctx, manager)
    assert (report.tenant, report.checked, report.changed, report.actor) == (T, 1, 1, "p-m")
    assert runtime.events(T)[-1] == "entry_verification_due"
    assert await freshness.sweep_report(ctx, manager, report.id) == report
    with pytest.raises(NotFound):
        other = person("p-m2", tenant="t2", gemeente=["neighbourhood_manager"])
        await freshness.sweep_report(ctx, other, report.id)


def test_the_fake_repository_has_every_method_of_the_protocol() -> None:
    def methods(cls: type) -> dict[str, list[str]]:
        return {
            name: list(inspect.signature(member).parameters)
            for name, member in vars(cls).items()
            if not name.startswith("_") and callable(member)
        }

    assert methods(FakeRepository) == methods(Repository)  # type: ignore[type-abstract]
