"""Issue 10 on the fakes: erasure that erases and drops what comes late, writes about a person
that need the person and their consent, a self-assessment shared with any consenting
organisation, access on behalf of an organisation, the export part, and the closed loop
(learning paths' and the marketplace's outcomes as interventions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.trajectories import Goal
from effect_measurement.service.erasure import Erasure
from effect_measurement.service.export import build
from effect_measurement.service.ingest import ResponseIngestion
from effect_measurement.service.interventions import record_intervention_by
from effect_measurement.service.interventions_in import InterventionsIn, intervention_type
from effect_measurement.service.projections import Projections
from effect_measurement.service.trajectories import shared_trajectories
from em_fakes import FakeDb, FakeRuntime
from test_use_cases import APR, FAMILY, JAN, TENANT, delivery, event, principal, response
from wijkkracht_common.errors import InvalidInput, NotFound
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonErasureRequested, PersonRegistered
from wijkkracht_common.events.learning_paths import ModuleCompleted
from wijkkracht_common.events.marketplace import HelpCompleted
from wijkkracht_common.events.questionnaires import ResponseSubmitted

PRO = principal("pro", {"welzijn-a": ["professional"]})


async def ingest(runtime: FakeRuntime, batch: list[Envelope[ResponseSubmitted]]) -> None:
    ingestion = ResponseIngestion(runtime, repositories=runtime.store.repositories)
    assert await ingestion(FakeDb(TENANT, runtime.store.tenant(TENANT)), batch, "d") == {}


def self_assessment(person: str, at: datetime) -> Envelope[ResponseSubmitted]:
    data = ResponseSubmitted(
        response_id=f"sa-{person}-{at:%m%d}",
        person_id=person,
        instrument_id="health-self-assessment",
        family="health-self-assessment",
        variant="standard",
        version=1,
        purpose="self_assessment",
        submitted_at=at,
        dimension_scores={"participation": 6.0},
    )
    return new_event(data, tenant=TENANT, subject=data.response_id)  # no organisation


async def registered(runtime: FakeRuntime, person: str) -> None:
    projections = Projections(runtime, repositories=runtime.store.repositories)
    await projections.person(
        event(PersonRegistered(person_id=person, neighbourhood_code="DM01")), delivery(person)
    )


def share(runtime: FakeRuntime, person: str, organisation: str = "welzijn-a") -> None:
    runtime.store.tenant(TENANT).consents[(person, organisation, "share_results")] = True


async def test_erasure_forgets_consent_unlinks_logs_and_drops_what_comes_late() -> None:
    runtime = FakeRuntime()
    await registered(runtime, "p1")
    await ingest(runtime, [response("p1", {"finances": 2}, JAN)])
    share(runtime, "p1")
    await shared_trajectories(runtime, PRO, "p1", repositories=runtime.store.repositories)
    state = runtime.store.tenant(TENANT)
    # p1 also worked as staff: a goal they set on someone else's trajectory
    state.goals.append(("p2", "tr-x", Goal("finances", 4, "professional", "p1", JAN)))

    erasure = Erasure(runtime, repositories=runtime.store.repositories)
    assert await erasure(event(PersonErasureRequested(person_id="p1")), delivery("e")) is True

    state = runtime.store.tenant(TENANT)
    assert not state.consents and "p1" in state.erased and "p1" not in state.profiles
    assert [e["resident"] for e in state.access_log] == ["erased"]
    assert [g[2].set_by for g in state.goals] != ["p1"] and len(state.goals) == 1
    [answer] = [e for e in runtime.staged[TENANT] if "person_data_erased" in e.type]
    assert answer.data.erased["consents"] == 1 and answer.data.anonymised["access_log"] == 1

    # Late: a response in flight, a profile event, an outcome from another service.
    await ingest(runtime, [response("p1", {"finances": 4}, APR)])
    await registered(runtime, "p1")
    loop = InterventionsIn(runtime, repositories=runtime.store.repositories)
    await loop.module_completed(module_completed("p1", "stress"), delivery("m"))
    state = runtime.store.tenant(TENANT)
    assert not state.measurements and not state.profiles and not state.interventions
    # A repeated request is answered again, with nothing left to count.
    assert await erasure(event(PersonErasureRequested(person_id="p1")), delivery("e")) is True


async def test_an_intervention_needs_a_known_person_with_consent_and_no_zeros() -> None:
    runtime = FakeRuntime()
    repositories = runtime.store.repositories

    def item(person: str, organisation: str | None = None) -> InterventionInput:
        return InterventionInput(
            intervention_id=f"iv-{person}",
            person_id=person,
            type="debt_help",
            occurred_at=JAN,
            organisation=organisation,
        )

    with pytest.raises(InvalidInput):
        await record_intervention_by(
            runtime, PRO, item("00000000-0000-0000-0000-000000000000"), repositories=repositories
        )
    with pytest.raises(NotFound):  # nobody identity told us about
        await record_intervention_by(runtime, PRO, item("ghost"), repositories=repositories)
    await registered(runtime, "p1")
    with pytest.raises(NotFound):  # known, but no consent for welzijn-a
        await record_intervention_by(runtime, PRO, item("p1"), repositories=repositories)
    share(runtime, "p1", "other-org")
    with pytest.raises(NotFound):  # consent for another organisation does not count
        await record_intervention_by(runtime, PRO, item("p1"), repositories=repositories)
    assert not runtime.store.tenant(TENANT).interventions

    share(runtime, "p1")
    assert await record_intervention_by(runtime, PRO, item("p1"), repositories=repositories)
    [stored] = runtime.store.tenant(TENANT).interventions.values()
    assert stored.organisation == "welzijn-a"  # the recorder's only organisation
    two_orgs = principal("pro2", {"welzijn-a": ["professional"], "b": ["professional"]})
    with pytest.raises(InvalidInput):  # which of the two?
        await record_intervention_by(runtime, two_orgs, item("p1"), repositories=repositories)


async def test_a_self_assessment_is_shared_with_any_consenting_organisation() -> None:
    runtime = FakeRuntime()
    repositories = runtime.store.repositories
    await ingest(runtime, [self_assessment("p1", JAN), response("p1", {"finances": 2}, JAN)])
    other = principal("pro-b", {"buurt-b": ["professional"]})
    with pytest.raises(NotFound):
        await shared_trajectories(runtime, other, "p1", repositories=repositories)

    share(runtime, "p1", "buurt-b")
    found = await shared_trajectories(runtime, other, "p1", repositories=repositories)
    # The self-assessment (no organisation), not welzijn-a's measurement.
    assert [t[0].key.organisation for t in found.values()] == ["-"]
    state = runtime.store.tenant(TENANT)
    assert state.access_on_behalf_of == ["buurt-b"]

    share(runtime, "p1")
    found = await shared_trajectories(runtime, PRO, "p1", repositories=repositories)
    assert sorted(t[0].key.organisation for t in found.values()) == ["-", "welzijn-a"]
    assert state.access_on_behalf_of == ["buurt-b", "welzijn-a"]


def module_completed(person: str, theme: str | None, enrolment: str = "en-1") -> Any:
    return event(
        ModuleCompleted(
            enrolment_id=enrolment,
            person_id=person,
            module_id="mod-1",
            version=1,
            theme=theme,
            organisation="welzijn-a",
            started_at=JAN,
            completed_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
    )


def help_completed(helped: str | None, helper: str | None) -> Any:
    return event(
        HelpCompleted(
            match_id="m-1",
            post_id="post-1",
            category="samen_eten",
            neighbourhood_code="DM01",
            helper_id=helper,
            helped_person_id=helped,
            completed_at=datetime(2026, 2, 2, tzinfo=UTC),
        )
    )


async def test_completed_modules_and_help_become_interventions_once() -> None:
    runtime = FakeRuntime()
    loop = InterventionsIn(runtime, repositories=runtime.store.repositories)
    done = module_completed("p1", "Geld & administratie")
    assert await loop.module_completed(done, delivery("m")) is True
    assert await loop.module_completed(done, delivery("m")) is False  # redelivered
    again = done.model_copy(update={"id": "another-event-id"})
    await loop.module_completed(again, delivery("m"))  # re-published: same completion
    helped = help_completed("p1", "p2")
    assert await loop.help_completed(helped, delivery("h")) is True

    items = runtime.store.tenant(TENANT).interventions
    assert sorted((i.person_id, i.type) for i in items.values()) == [
        ("p1", "help_received_samen_eten"),
        ("p1", "module_geld_administratie"),
        ("p2", "help_given_samen_eten"),
    ]


async def test_help_with_one_erased_person_records_only_the_other() -> None:
    for erased, kept in (("p2", "p1"), ("p1", "p2")):
        runtime = FakeRuntime()
        runtime.store.tenant(TENANT).erased.add(erased)
        loop = InterventionsIn(runtime, repositories=runtime.store.repositories)
        await loop.help_completed(help_completed("p1", "p2"), delivery("h"))
        items = runtime.store.tenant(TENANT).interventions.values()
        assert [i.person_id for i in items] == [kept]
        await loop.help_completed(help_completed(None, None), delivery("h2"))  # nobody: acked
        assert len(runtime.store.tenant(TENANT).interventions) == 1


def test_intervention_types_are_words() -> None:
    assert (
        intervention_type("module", "Stress de baas!", "module_completed")
        == "module_stress_de_baas"
    )
    assert intervention_type("path", None, "path_completed") == "path_completed"
    assert len(intervention_type("help_given", "x" * 200, "help_given")) == 61


async def test_the_export_part_holds_everything_kept_about_the_person() -> None:
    runtime = FakeRuntime()
    await registered(runtime, "p1")
    await ingest(runtime, [response("p1", {"finances": 2}, JAN)])
    await ingest(runtime, [response("p1", {"finances": 4}, APR), self_assessment("p1", APR)])
    share(runtime, "p1")
    loop = InterventionsIn(runtime, repositories=runtime.store.repositories)
    await loop.module_completed(module_completed("p1", "stress"), delivery("m"))
    repos = runtime.store.repositories(None, None, TENANT)

    part = await build(repos, "p1")

    assert part["counts"] == {
        "measurements": 3,
        "trajectories": 2,
        "goals": 0,
        "interventions": 1,
        "profiles": 1,
    }
    assert part["consents"] == {"share_results": ["welzijn-a"]}
    assert {m["family"] for m in part["measurements"]} == {FAMILY, "health-self-assessment"}
    assert part["profile"]["neighbourhood"] == "DM01"
    assert (await build(repos, "nobody"))["counts"]["measurements"] == 0
