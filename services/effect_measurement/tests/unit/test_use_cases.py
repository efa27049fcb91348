"""The service layer's main use cases on in-memory fakes of the repositories and the runtime
(no database, no NATS): ingestion, erasure, interventions, projections, privacy settings,
a professional's access and follow-ups. The integration tests run the same code on the real
servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from effect_measurement.domain.accumulator import apply_deltas
from effect_measurement.domain.aggregates import person_cells
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.persona import persona_cells
from effect_measurement.service.erasure import Erasure
from effect_measurement.service.followups import FollowupScheduler
from effect_measurement.service.ingest import ResponseIngestion
from effect_measurement.service.interventions import record_intervention, record_intervention_by
from effect_measurement.service.privacy import change_k, name_in_benchmarks, privacy_settings
from effect_measurement.service.projections import Projections
from effect_measurement.service.trajectories import shared_trajectories
from effect_measurement.settings import Settings
from em_fakes import FakeDb, FakeRuntime, TenantState
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden, NotFound
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.events.identity import (
    PersonErasureRequested,
    PersonProfileUpdated,
    PersonRegistered,
    TenantCreated,
)
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import Delivery

TENANT = "tenant-a"
FAMILY = "self-sufficiency-matrix"
JAN, APR = datetime(2026, 1, 12, tzinfo=UTC), datetime(2026, 4, 14, tzinfo=UTC)


def delivery(durable: str = "effect_measurement__test") -> Delivery:
    return Delivery(subject="wk.tenant-a.x", attempt=1, durable=durable)


def response(person: str, levels: dict[str, int], at: datetime) -> Envelope[ResponseSubmitted]:
    data = ResponseSubmitted(
        response_id=f"r-{person}-{at:%m%d}",
        person_id=person,
        instrument_id=FAMILY,
        family=FAMILY,
        variant="standard",
        version=1,
        purpose="measurement",
        submitted_at=at,
        dimension_scores={},
        levels=levels,
    )
    return new_event(data, tenant=TENANT, subject=data.response_id, organisation="welzijn-a")


def event(data: EventData, time: datetime | None = None) -> Envelope[Any]:
    envelope = new_event(data, tenant=TENANT, subject="s")
    return envelope.model_copy(update={"time": time}) if time else envelope


def principal(subject: str, orgs: dict[str, list[str]]) -> Principal:
    return Principal(
        subject=subject,
        tenant=TENANT,
        roles=frozenset(r for rs in orgs.values() for r in rs),
        orgs={org: frozenset(rs) for org, rs in orgs.items()},
    )


async def ingest(runtime: FakeRuntime, batch: list[Envelope[ResponseSubmitted]]) -> None:
    ingestion = ResponseIngestion(runtime, repositories=runtime.store.repositories)
    db = FakeDb(TENANT, runtime.store.tenant(TENANT))
    assert await ingestion(db, batch, "effect_measurement__test") == {}


def expected_cells(state: TenantState) -> dict[Any, Any]:
    """The projection as the domain's sum over the stored persons."""
    persons: dict[str, list[Any]] = {}
    for stored in state.measurements.values():
        persons.setdefault(stored.measurement.measurement.person_id or "", []).append(
            stored.measurement
        )
    expected: dict[Any, Any] = {}
    for items in persons.values():
        expected = apply_deltas(expected, person_cells(TENANT, items))
    return expected


async def test_a_batch_is_stored_folded_and_announced_once() -> None:
    runtime = FakeRuntime()
    batch = [response(p, {"finances": 2, "housing": 3}, JAN) for p in ("p1", "p2")]
    await ingest(runtime, batch)
    follow_up = [response("p1", {"finances": 4}, APR)]
    await ingest(runtime, follow_up)
    await ingest(runtime, follow_up)  # redelivered: no second effect

    state = runtime.store.tenant(TENANT)
    assert len(state.measurements) == 3
    assert state.cells == expected_cells(state)
    recorded = [e for e in runtime.staged[TENANT] if "measurement_recorded" in e.type]
    assert len(recorded) == 3
    by_id = {s.measurement.measurement.response_id: s for s in state.measurements.values()}
    baseline, later = by_id[batch[0].data.response_id], by_id[follow_up[0].data.response_id]
    assert (baseline.sequence, later.sequence) == (0, 1)
    assert later.followup_pending and baseline.trajectory == later.trajectory


async def test_erasure_takes_the_person_out_of_every_cell_once() -> None:
    runtime = FakeRuntime()
    await ingest(runtime, [response(p, {"finances": 2}, JAN) for p in ("p1", "p2", "p3")])
    await ingest(runtime, [response(p, {"finances": 4}, APR) for p in ("p1", "p2")])
    erasure = Erasure(runtime, repositories=runtime.store.repositories)
    asked = event(PersonErasureRequested(person_id="p2"))

    assert await erasure(asked, delivery()) is True
    assert await erasure(asked, delivery()) is False  # redelivered

    state = runtime.store.tenant(TENANT)
    assert {s.measurement.measurement.person_id for s in state.measurements.values()} == {
        "p1",
        "p3",
    }
    assert state.cells == expected_cells(state)
    [answer] = [e for e in runtime.staged[TENANT] if "person_data_erased" in e.type]
    assert answer.data.erased["measurements"] == 2


async def test_a_failed_erasure_leaves_no_claim_and_no_change() -> None:
    runtime = FakeRuntime()
    await ingest(runtime, [response("p1", {"finances": 2}, JAN)])
    calls = 0

    def failing_once(db: Any, session: Any, tenant: str) -> Any:
        nonlocal calls
        calls += 1
        repos = runtime.store.repositories(db, session, tenant)
        if calls == 1:
            repos.profiles = None  # the effect breaks half-way (after the cells)
        return repos

    erasure = Erasure(runtime, repositories=failing_once)
    asked = event(PersonErasureRequested(person_id="p1"))
    with pytest.raises(AttributeError):
        await erasure(asked, delivery())
    state = runtime.store.tenant(TENANT)
    assert len(state.measurements) == 1 and state.cells and not state.inbox

    assert await erasure(asked, delivery()) is True  # the retry applies it
    assert not runtime.store.tenant(TENANT).cells


async def test_an_intervention_moves_persona_cells_once() -> None:
    runtime = FakeRuntime()
    await ingest(runtime, [response("p1", {"finances": 2}, JAN)])
    await ingest(runtime, [response("p1", {"finances": 4}, APR)])
    item = InterventionInput(
        intervention_id="iv-1",
        person_id="p1",
        type="walking_group",
        occurred_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    epoch = runtime.store.tenant(TENANT).epoch
    repositories = runtime.store.repositories

    assert await record_intervention(runtime, TENANT, item, repositories=repositories) is True
    assert await record_intervention(runtime, TENANT, item, repositories=repositories) is False

    state = runtime.store.tenant(TENANT)
    measurements = [s.measurement for s in state.measurements.values()]
    assert state.persona == persona_cells(TENANT, measurements, [item])
    assert {k.intervention_type for k in state.persona} == {"walking_group"}
    assert state.epoch == epoch + 1  # plans made before it are void


async def test_an_intervention_for_another_organisation_is_refused() -> None:
    runtime = FakeRuntime()
    item = InterventionInput(
        intervention_id="iv-2",
        person_id="p1",
        type="debt_help",
        occurred_at=JAN,
        organisation="other-org",
    )
    professional = principal("pro", {"welzijn-a": ["professional"]})
    with pytest.raises(Forbidden):
        await record_intervention_by(
            runtime, professional, item, repositories=runtime.store.repositories
        )
    assert runtime.commits == 0


async def test_privacy_settings_change_through_a_commit() -> None:
    runtime = FakeRuntime()
    repositories = runtime.store.repositories
    admin = principal("adm", {"gemeente-x": ["tenant_admin"]})

    changed = await change_k(runtime, admin, 12, repositories=repositories)

    assert changed.policy.k == 12 and runtime.commits == 1
    assert (await privacy_settings(runtime, TENANT, repositories=repositories)).policy.k == 12
    org_admin = principal("oa", {"welzijn-a": ["org_admin"]})
    await name_in_benchmarks(runtime, org_admin, "welzijn-a", True, repositories=repositories)
    with pytest.raises(Forbidden):
        await name_in_benchmarks(runtime, org_admin, "other-org", True, repositories=repositories)
    settings = await privacy_settings(runtime, TENANT, repositories=repositories)
    assert settings.named == {"welzijn-a"} and runtime.commits == 2


async def test_profiles_and_tenant_k_are_projected() -> None:
    runtime = FakeRuntime()
    projections = Projections(runtime, repositories=runtime.store.repositories)
    registered = PersonRegistered(person_id="p1", neighbourhood_code="DM01", age_band="27-44")
    await projections.person(event(registered), delivery("d1"))
    moved = PersonProfileUpdated(person_id="p1", neighbourhood_code="DM02")
    await projections.person(event(moved), delivery("d2"))
    await projections.tenant_created(
        event(TenantCreated(tenant_slug=TENANT, name="T", k_anonymity=3)), delivery("d3")
    )

    state = runtime.store.tenant(TENANT)
    profile = state.profiles["p1"]
    assert (profile.neighbourhood_code, profile.age_band) == ("DM02", "27-44")
    assert state.privacy.policy.k == 5  # never below the floor


async def test_a_professional_sees_shared_trajectories_only_and_is_logged() -> None:
    runtime = FakeRuntime()
    repositories = runtime.store.repositories
    await ingest(runtime, [response("p1", {"finances": 2}, JAN)])
    professional = principal("pro", {"welzijn-a": ["professional"]})
    with pytest.raises(NotFound):
        await shared_trajectories(runtime, professional, "p1", repositories=repositories)

    # The platform's consent projection (wijkkracht_common.consent) holds the grant.
    runtime.store.tenant(TENANT).consents[("p1", "welzijn-a", "share_results")] = True
    found = await shared_trajectories(runtime, professional, "p1", repositories=repositories)

    assert len(found) == 1
    assert runtime.store.tenant(TENANT).access_log == [
        {"actor": "pro", "resident": "p1", "action": "read", "reason": "share_results"}
    ]


async def test_a_follow_up_is_announced_once_when_due() -> None:
    runtime = FakeRuntime()
    await ingest(runtime, [response("p1", {"finances": 2}, JAN)])
    settings = Settings(followup_after_seconds=60.0, run_scheduler=False)
    scheduler = FollowupScheduler(runtime, settings, repositories=runtime.store.repositories)

    assert await scheduler.scan_tenant(TENANT, now=JAN + timedelta(seconds=30)) == 0
    assert await scheduler.scan_tenant(TENANT, now=JAN + timedelta(minutes=5)) == 1
    assert await scheduler.scan_tenant(TENANT, now=JAN + timedelta(minutes=6)) == 0
    [due] = [e for e in runtime.staged[TENANT] if "followup_due" in e.type]
    assert (due.data.person_id, due.data.sequence) == ("p1", 1)
