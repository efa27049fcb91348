"""The appended fast paths of the folds (aggregate and persona cells) give exactly the general
path's deltas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from effect_measurement.domain.accumulator import Flat, from_flat
from effect_measurement.domain.aggregates import fold_batch
from effect_measurement.domain.fold import (
    add_appended_delta,
    add_appended_persona_delta,
    add_person_delta,
    cell_contributions,
    persona_contributions,
)
from effect_measurement.domain.inputs import InstrumentKind, InterventionInput, MeasurementInput
from effect_measurement.domain.keys import RawCell, RawPersona
from effect_measurement.domain.trajectories import StoredMeasurement
from hypothesis import given, settings
from hypothesis import strategies as st

START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)

values = st.dictionaries(
    st.sampled_from(["finances", "housing", "relationship"]), st.integers(1, 5), max_size=3
)
scores = st.dictionaries(
    st.sampled_from(["finances", "participation"]), st.floats(0, 10, allow_nan=False), max_size=2
)
measurement = st.tuples(
    st.integers(0, 400),  # days after START (ties on the same day happen)
    values,  # phases
    values,  # levels
    scores,  # dimension scores
    st.sampled_from(["wijk-01", "wijk-02", "wijk-03"]),
    st.sampled_from(["org-a", "org-b", None]),
    st.sampled_from(["zrm", "monitor"]),
    st.sampled_from([InstrumentKind.MEASUREMENT] * 4 + [InstrumentKind.SELF_ASSESSMENT]),
)


def stored(index: int, spec: tuple) -> StoredMeasurement:  # type: ignore[type-arg]
    days, phases, levels, dimension_scores, neighbourhood, organisation, family, kind = spec
    data = MeasurementInput(
        response_id=f"r{index:03d}",
        person_id="p1",
        organisation=organisation,
        instrument_id=family,
        family=family,
        kind=kind,
        submitted_at=START + timedelta(days=days),
        phases=phases,
        levels=levels,
        dimension_scores=dimension_scores,
    )
    return StoredMeasurement(data, neighbourhood, "27-44", "single")


def order(s: StoredMeasurement) -> tuple[datetime, str]:
    return s.measurement.submitted_at, s.measurement.response_id


def intervention_inputs(facts: list[tuple[int, str]]) -> list[InterventionInput]:
    return [
        InterventionInput(
            intervention_id=f"i{n}",
            person_id="p1",
            type=kind,
            occurred_at=START + timedelta(days=days, hours=1),
        )
        for n, (days, kind) in enumerate(facts)
    ]


def assert_cells_fast_path_is_exact(
    history: list[StoredMeasurement], new: list[StoredMeasurement]
) -> None:
    fast: dict[RawCell, Flat] = {}
    add_appended_delta(fast, history, new)
    general: dict[RawCell, Flat] = {}
    add_person_delta(general, history, new, cell_contributions)
    assert from_flat(fast) == from_flat(general)


def assert_persona_fast_path_is_exact(
    history: list[StoredMeasurement], new: list[StoredMeasurement], ivs: list[InterventionInput]
) -> None:
    fast: dict[RawPersona, Flat] = {}
    add_appended_persona_delta(fast, history, new, ivs)
    general: dict[RawPersona, Flat] = {}
    add_person_delta(general, history, new, lambda ms, only: persona_contributions(ms, ivs, only))
    assert from_flat(fast) == from_flat(general)


@given(st.lists(measurement, min_size=1, max_size=8), st.integers(0, 8))
@settings(max_examples=300, deadline=None)
def test_appended_fast_path_equals_general_path(specs: list, split: int) -> None:  # type: ignore[type-arg]
    points = sorted((stored(i, spec) for i, spec in enumerate(specs)), key=order)
    split = min(split, len(points) - 1)
    history, new = points[:split], points[split:]

    assert_cells_fast_path_is_exact(history, new)


@given(st.lists(measurement, min_size=2, max_size=8), st.integers(1, 7))
@settings(max_examples=100, deadline=None)
def test_fold_batch_takes_the_general_path_for_late_measurements(specs: list, late: int) -> None:  # type: ignore[type-arg]
    points = sorted((stored(i, spec) for i, spec in enumerate(specs)), key=order)
    late = min(late, len(points) - 1)
    # A measurement that arrives after later ones were stored (a late submit).
    new = [points[late - 1]]
    history = points[: late - 1] + points[late:]

    general: dict[RawCell, Flat] = {}
    add_person_delta(general, history, new, cell_contributions)
    folded = fold_batch("t", new, {"p1": history})

    assert {
        (k.organisation, k.neighbourhood, k.family, k.dimension, k.period.label): v
        for k, v in folded.items()
    } == from_flat(general)


interventions = st.lists(
    st.tuples(st.integers(-30, 430), st.sampled_from(["walking_group", "debt_help"])),
    max_size=4,
)


@given(st.lists(measurement, min_size=1, max_size=8), st.integers(0, 8), interventions)
@settings(max_examples=300, deadline=None)
def test_appended_persona_fast_path_equals_general_path(
    specs: list,
    split: int,
    facts: list,  # type: ignore[type-arg]
) -> None:
    points = sorted((stored(i, spec) for i, spec in enumerate(specs)), key=order)
    split = min(split, len(points) - 1)
    history, new = points[:split], points[split:]
    ivs = intervention_inputs(facts)

    assert_persona_fast_path_is_exact(history, new, ivs)


@given(measurement, st.lists(measurement, max_size=3))
@settings(max_examples=150, deadline=None)
def test_a_first_measurement_folds_like_the_general_path(spec: tuple, before: list) -> None:  # type: ignore[type-arg]
    # History of self-assessments only: the new measurement is still the person's first.
    history = [stored(i, (*s[:7], InstrumentKind.SELF_ASSESSMENT)) for i, s in enumerate(before)]
    latest = max((h.measurement.submitted_at for h in history), default=START)
    new = stored(99, (*spec[:7], InstrumentKind.MEASUREMENT))
    new = StoredMeasurement(
        new.measurement.model_copy(update={"submitted_at": latest + timedelta(days=1)}),
        new.neighbourhood,
    )

    fast: dict[RawCell, Flat] = {}
    add_appended_delta(fast, history, [new])
    general: dict[RawCell, Flat] = {}
    add_person_delta(general, history, [new], cell_contributions)

    assert from_flat(fast) == from_flat(general)


@given(measurement, measurement, interventions, st.booleans())
@settings(max_examples=400, deadline=None)
def test_a_first_follow_up_folds_like_the_general_path(
    first: tuple,
    second: tuple,
    facts: list,
    same_track: bool,  # type: ignore[type-arg]
) -> None:
    """One stored and one new measurement: the direct paths of both folds (most follow-ups)."""
    if same_track:  # mostly one organisation and family, as in a real trajectory
        second = (*second[:5], first[5], first[6], second[7])
    history, new = [[p] for p in sorted((stored(0, first), stored(1, second)), key=order)]
    ivs = intervention_inputs(facts)

    assert_cells_fast_path_is_exact(history, new)
    assert_persona_fast_path_is_exact(history, new, ivs)
