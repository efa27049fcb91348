from __future__ import annotations

from collections import defaultdict

import pytest
from effect_measurement.domain.accumulator import Accumulator, apply, apply_deltas, remove
from effect_measurement.domain.aggregates import (
    erasure_delta,
    fold_batch,
    measurement_delta,
    person_cells,
)
from effect_measurement.domain.inputs import InstrumentKind
from effect_measurement.domain.keys import ALL_DIMENSIONS, CellKey
from effect_measurement.domain.periods import month, quarter, year
from effect_measurement.domain.trajectories import StoredMeasurement
from em_builders import at, matrix
from hypothesis import given, settings
from hypothesis import strategies as st


def cell(dimension: str, period, neighbourhood: str = "wijk-01") -> CellKey:  # type: ignore[no-untyped-def]
    return CellKey("t", "org-a", neighbourhood, "zrm", dimension, period)


def test_baseline_and_followup_in_one_quarter() -> None:
    cells = person_cells(
        "t",
        [
            matrix("r1", at(2026, 1), {"finances": 2}),
            matrix("r2", at(2026, 3), {"finances": 4}),
        ],
    )
    q1 = cells[cell("finances", quarter(2026, 1))]
    assert (q1.measured, q1.improved, q1.baseline_count, q1.change_count) == (1, 1, 1, 1)
    assert q1.mean_baseline == 2 and q1.mean_change == 2 and q1.transitions == {"2>4": 1}
    jan = cells[cell("finances", month(2026, 1))]
    assert (jan.baseline_only, jan.change_count) == (1, 0)
    assert cells[cell(ALL_DIMENSIONS, year(2026))] == Accumulator(measured=1)


def test_person_counted_once_per_cell_with_many_followups() -> None:
    cells = person_cells(
        "t", [matrix(f"r{i}", at(2026, i), {"finances": 2 + i % 2}) for i in range(1, 5)]
    )
    y = cells[cell("finances", year(2026))]
    assert y.measured == 1 and y.change_count == 1


def test_followup_counts_in_neighbourhood_of_latest_measurement() -> None:
    cells = person_cells(
        "t",
        [
            matrix("r1", at(2026, 1), {"finances": 2}, neighbourhood="wijk-01"),
            matrix("r2", at(2026, 5), {"finances": 3}, neighbourhood="wijk-02"),
        ],
    )
    assert cell("finances", year(2026), "wijk-01") not in cells
    assert cells[cell("finances", year(2026), "wijk-02")].measured == 1


def test_self_assessments_and_anonymous_responses_never_aggregate() -> None:
    own = matrix("r1", at(2026, 1), {"finances": 2}, kind=InstrumentKind.SELF_ASSESSMENT)
    anonymous = matrix("r2", at(2026, 1), {"finances": 2}, person=None)
    assert person_cells("t", [own, anonymous]) == {}


def test_period_follows_dutch_calendar() -> None:
    from datetime import UTC, datetime

    late = matrix("r1", datetime(2026, 3, 31, 23, 30, tzinfo=UTC), {"finances": 2})
    assert cell("finances", month(2026, 4)) in person_cells("t", [late])


def test_remove_refuses_what_was_never_added() -> None:
    with pytest.raises(ValueError):
        remove(Accumulator(measured=1), Accumulator(measured=2))
    assert remove(
        apply(Accumulator(), Accumulator(measured=1, change_sum_centi=-100)),
        Accumulator(measured=1, change_sum_centi=-100),
    ).is_zero()


def test_increments_document_round_trip() -> None:
    value = Accumulator(measured=2, improved=1, change_sum_centi=-50, transitions={"2>3": 1})
    increments = value.as_increments()
    assert increments["transitions.2>3"] == 1
    document: dict[str, object] = {k: v for k, v in increments.items() if "." not in k}
    document["transitions"] = {"2>3": 1}  # how MongoDB nests dotted $inc paths
    assert Accumulator.from_document(document) == value


# Random histories of a few people: levels over a year and a half, two neighbourhoods.
measurement_strategy = st.tuples(
    st.integers(1, 18),  # month offset from Jan 2025
    st.integers(1, 28),
    st.sampled_from(["finances", "housing"]),
    st.integers(1, 5),
    st.sampled_from(["wijk-01", "wijk-02"]),
    st.sampled_from(["org-a", "org-b"]),
)
people_strategy = st.dictionaries(
    st.sampled_from(["p1", "p2", "p3", "p4"]),
    st.lists(measurement_strategy, min_size=1, max_size=5),
    min_size=1,
)


def histories(
    people: dict[str, list[tuple[int, int, str, int, str, str]]],
) -> dict[str, list[StoredMeasurement]]:
    result: dict[str, list[StoredMeasurement]] = defaultdict(list)
    for person, rows in people.items():
        for n, (offset, day, dimension, level, wijk, org) in enumerate(rows):
            when = at(2025 + (offset - 1) // 12, (offset - 1) % 12 + 1, day)
            result[person].append(
                matrix(
                    f"{person}-{n}",
                    when,
                    {dimension: level},
                    person=person,
                    organisation=org,
                    neighbourhood=wijk,
                )
            )
    return result


@given(people_strategy)
@settings(max_examples=60, deadline=None)
def test_incremental_equals_full_and_erasure_restores(people) -> None:  # type: ignore[no-untyped-def]
    stored = histories(people)
    full: dict[CellKey, Accumulator] = {}
    for items in stored.values():
        full = apply_deltas(full, person_cells("t", items))
    # one measurement at a time, in arrival order
    incremental: dict[CellKey, Accumulator] = {}
    for items in stored.values():
        for i in range(len(items)):
            incremental = apply_deltas(incremental, measurement_delta("t", items[:i], [items[i]]))
    assert incremental == full
    # one batch for everyone
    assert apply_deltas({}, fold_batch("t", [m for ms in stored.values() for m in ms], {})) == full
    # invariant: measured = partition of outcomes in every dimension cell
    for key, value in full.items():
        if key.dimension != ALL_DIMENSIONS:
            assert value.measured == value.baseline_only + value.improved + value.same + value.worse
            assert value.change_count == value.improved + value.same + value.worse
            assert value.measured >= 0
    # erasing one person leaves exactly the others' contributions
    gone = next(iter(stored))
    after = apply_deltas(full, erasure_delta("t", stored[gone]))
    others: dict[CellKey, Accumulator] = {}
    for person, items in stored.items():
        if person != gone:
            others = apply_deltas(others, person_cells("t", items))
    assert after == others


@given(people_strategy, st.integers(min_value=0, max_value=3))
@settings(max_examples=40, deadline=None)
def test_persona_batch_delta_equals_full_recompute(people, split: int) -> None:  # type: ignore[no-untyped-def]
    # The batch fold computes only the years new measurements can change (appended case) and
    # everything otherwise (late measurements): both must equal after − before in full.
    from effect_measurement.domain.persona import persona_cells, persona_fold

    stored = histories(people)
    history = {p: items[:split] for p, items in stored.items()}
    new = {p: items[split:] for p, items in stored.items() if items[split:]}
    expected: dict[object, Accumulator] = {}
    for person, items in stored.items():
        expected = apply_deltas(expected, persona_cells("t", items, []))  # type: ignore[arg-type]
        expected = apply_deltas(
            expected,
            {k: v.negated() for k, v in persona_cells("t", history[person], []).items()},  # type: ignore[arg-type]
        )
    assert apply_deltas({}, persona_fold("t", history, new, {})) == expected
    # and the aggregate fold of the same split, against the delta of two full computations
    from effect_measurement.domain.accumulator import cell_delta

    full: dict[CellKey, Accumulator] = {}
    for person, items in stored.items():
        full = apply_deltas(
            full, cell_delta(person_cells("t", history[person]), person_cells("t", items))
        )
    batch = fold_batch("t", [m for ms in new.values() for m in ms], history)
    assert apply_deltas({}, batch) == full
