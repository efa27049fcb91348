"""Interventions in the trajectory views: which belong to a trajectory (the persona fold's
rule), which a professional sees (the consent of their source), what is access-logged, and
the source of interventions stored before it was kept."""

from __future__ import annotations

from datetime import datetime

from effect_measurement.adapters.documents import intervention_from_document
from effect_measurement.domain.consents import visible_intervention
from effect_measurement.domain.inputs import InterventionInput, InterventionSource
from effect_measurement.domain.interventions import (
    NO_INTERVENTION,
    intervention_types_between,
    of_trajectory,
)
from effect_measurement.domain.trajectories import build_trajectories
from effect_measurement.service.interventions import record_intervention
from effect_measurement.service.trajectories import Overview, own_overview, shared_overview
from em_builders import at, matrix
from em_fakes import FakeRuntime
from test_use_cases import APR, JAN, TENANT, ingest, principal, response


def item(
    ident: str,
    when: datetime,
    *,
    kind: str = "debt_help",
    source: InterventionSource = "recorded",
    organisation: str | None = "org-a",
    person: str = "p1",
) -> InterventionInput:
    return InterventionInput(
        intervention_id=ident,
        person_id=person,
        type=kind,
        occurred_at=when,
        organisation=organisation,
        source=source,
    )


def test_a_trajectory_holds_the_interventions_after_its_baseline_as_the_fold_counts_them() -> None:
    points = [at(2026, 1), at(2026, 4), at(2026, 7)]
    stored = [matrix(f"r{n}", when, {"finances": 2 + n}) for n, when in enumerate(points)]
    tracks = list(build_trajectories(stored).values())
    events = [
        item("before", at(2025, 12)),  # before the baseline: in no trajectory
        item("at-baseline", points[0]),  # not after it either
        item("b", at(2026, 2), kind="module_stress", source="learning_paths", organisation=None),
        item("a", at(2026, 2), kind="help_received_klussen", source="marketplace"),
        item("a", at(2026, 2), kind="help_received_klussen", source="marketplace"),  # again
        item("at-follow-up", points[1]),
        item("open", at(2026, 9)),  # after the latest measurement: the open window
        item("theirs", at(2026, 2), person="p2"),
    ]

    shown = of_trajectory(tracks, events)

    assert [i.intervention_id for i in shown] == ["a", "b", "at-follow-up", "open"]
    # Exactly what the persona fold counts at each follow-up, against the baseline.
    for end in points[1:]:
        counted = intervention_types_between(events, "p1", points[0], end) - {NO_INTERVENTION}
        assert counted == {i.type for i in shown if i.occurred_at <= end}
    assert of_trajectory([], events) == []


def test_staff_see_only_what_the_consent_of_its_source_shows() -> None:
    module = item("m", JAN, source="learning_paths", organisation="org-a")
    chosen = item("c", JAN, source="learning_paths", organisation=None)
    recorded = item("r", JAN, organisation="org-a")
    elsewhere = item("e", JAN, organisation="org-b")
    arranged = item("h", JAN, source="marketplace", organisation="org-a")
    neighbours = item("n", JAN, source="marketplace", organisation=None)
    everything = [module, chosen, recorded, elsewhere, arranged, neighbours]

    def seen(results: set[str], learning: set[str]) -> list[str]:
        return [i.intervention_id for i in everything if visible_intervention(i, results, learning)]

    # Results only: not the modules, even the one org-a assigned (learning progress).
    assert seen({"org-a"}, set()) == ["r", "h"]
    assert seen({"org-a"}, {"org-a"}) == ["m", "c", "r", "h"]
    assert seen({"org-b"}, set()) == ["e"]
    assert seen(set(), set()) == []


def test_the_source_of_an_intervention_stored_before_it_was_kept() -> None:
    def former(ident: str) -> str:
        doc = {"_id": ident, "person_id": "p1", "type": "module_stress", "occurred_at": JAN}
        return str(intervention_from_document(doc).source)

    assert former("learning_paths:en-1") == "learning_paths"
    assert former("marketplace:m-1:helped") == "marketplace"
    assert former("0193c0de-0000-7000-8000-000000000001") == "recorded"


async def test_the_views_show_them_and_log_learning_progress_on_its_own_consent() -> None:
    runtime = FakeRuntime()
    repositories = runtime.store.repositories
    await ingest(runtime, [response("p1", {"finances": 2}, JAN)])
    between = JAN + (APR - JAN) / 2
    for iv in (
        item("learning_paths:en-1", between, kind="module_stress", source="learning_paths"),
        item("by-hand", APR, organisation="welzijn-a"),
    ):
        await record_intervention(runtime, TENANT, iv, repositories=repositories)
    state = runtime.store.tenant(TENANT)
    state.consents[("p1", "welzijn-a", "share_results")] = True
    pro = principal("pro", {"welzijn-a": ["professional"]})

    def ids(overview: Overview) -> list[str]:
        [items] = overview.interventions.values()  # one trajectory
        return [i.intervention_id for i in items]

    own = await own_overview(runtime, principal("p1", {}), repositories=repositories)
    assert ids(own) == ["learning_paths:en-1", "by-hand"]

    shared = await shared_overview(runtime, pro, "p1", repositories=repositories)
    assert ids(shared) == ["by-hand"]
    assert [e["reason"] for e in state.access_log] == ["share_results"]

    state.consents[("p1", "welzijn-a", "share_learning_progress")] = True
    shared = await shared_overview(runtime, pro, "p1", repositories=repositories)
    assert ids(shared) == ["learning_paths:en-1", "by-hand"]
    assert [e["reason"] for e in state.access_log[1:]] == [
        "share_results",
        "share_learning_progress",
    ]
    assert state.access_on_behalf_of[1:] == ["welzijn-a", "welzijn-a"]
