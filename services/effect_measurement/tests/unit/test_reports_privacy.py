"""Differencing: two allowed queries whose populations nest never differ by 1..k-1 people."""

from __future__ import annotations

from effect_measurement.domain.accumulator import Accumulator, apply_deltas
from effect_measurement.domain.aggregates import person_cells
from effect_measurement.domain.keys import ALL_DIMENSIONS, CellKey
from effect_measurement.domain.periods import Period, month, quarter, year
from effect_measurement.domain.reports import ReportKey, build_report, slice_for_organisation
from effect_measurement.domain.tables import PublishedTable
from effect_measurement.domain.transitions import build_transitions
from em_builders import at, matrix
from hypothesis import given, settings
from hypothesis import strategies as st

K = 5
PERIODS = [
    year(2026),
    *(quarter(2026, q) for q in range(1, 5)),
    *(month(2026, m) for m in range(1, 13)),
]
DIMENSIONS = ["finances", "housing", ALL_DIMENSIONS]


def projection(people: dict[int, list[tuple[int, str, int, int]]]) -> dict[CellKey, Accumulator]:
    cells: dict[CellKey, Accumulator] = {}
    for person, rows in people.items():
        stored = [
            matrix(
                f"{person}-{n}",
                at(2026, mon, 10),
                {dim: level},
                person=f"p{person}",
                neighbourhood=f"wijk-0{wijk}",
            )
            for n, (mon, dim, level, wijk) in enumerate(rows)
        ]
        cells = apply_deltas(cells, person_cells("t", stored))
    return cells


def published(table: PublishedTable) -> dict[tuple[str, str], float]:
    figures: dict[tuple[str, str], float] = {}
    for row in [*table.rows, *([table.totals] if table.totals else [])]:
        for key, cell in row.cells.items():
            if (
                cell.value is not None
                and table.columns[0].kind.value == "count"
                and key not in ("mean_baseline", "mean_change")
            ):
                figures[(row.key, key)] = cell.value
    return figures


def nests(a: tuple[str, Period], b: tuple[str, Period]) -> bool:
    dims_ok = a[0] == b[0] or ALL_DIMENSIONS in (a[0], b[0])
    return a != b and dims_ok and (a[1] == b[1] or a[1].nests_with(b[1]))


# Measurements cluster in a few months so that many figures are large enough to publish
# (otherwise the property would hold vacuously); sizes up to 100 people.
people_strategy = st.dictionaries(
    st.integers(0, 150),
    st.lists(
        st.tuples(
            st.sampled_from([1, 2, 3, 11]),
            st.sampled_from(["finances", "housing"]),
            st.integers(1, 5),
            st.integers(1, 2),
        ),
        min_size=1,
        max_size=3,
    ),
    min_size=5,
    max_size=100,
)


@given(people_strategy)
@settings(max_examples=25, deadline=None)
def test_differencing_two_allowed_queries_never_isolates_fewer_than_k(people) -> None:  # type: ignore[no-untyped-def]
    cells = projection(people)
    reports = {
        (d, p): published(build_report(cells, ReportKey("t", "zrm", d, p), K))
        for d in DIMENSIONS
        for p in PERIODS
    }
    for a, figures_a in reports.items():
        for b, figures_b in reports.items():
            if not nests(a, b):
                continue
            for name in set(figures_a) & set(figures_b):
                assert (
                    abs(figures_a[name] - figures_b[name]) == 0
                    or abs(figures_a[name] - figures_b[name]) >= K
                ), (a, b, name)
            # a figure shown in one report and absent (0) in the other is itself >= k
            for name in set(figures_a) - set(figures_b):
                assert figures_a[name] == 0 or figures_a[name] >= K


def test_report_has_no_person_level_output_and_marks_suppression() -> None:
    people = {i: [(1, "finances", 2, 1), (4, "finances", 3, 1)] for i in range(12)}
    people[99] = [(1, "finances", 2, 2)]
    cells = projection(people)
    table = build_report(cells, ReportKey("t", "zrm", "finances", year(2026)), 10)
    wijk1 = table.cell("org-a/wijk-01", "measured")
    assert wijk1.value == 12
    lone = table.cell("org-a/wijk-02", "measured")
    assert lone.value is None and lone.reason is not None
    assert table.cell("org-a/wijk-02", "mean_baseline").value is None
    assert table.cell("org-a/wijk-01", "mean_change").value == 1.0
    # the tenant total would reveal the lone person: it is protected as well
    assert table.totals is not None and table.totals.cells["measured"].value is None
    assert slice_for_organisation(table, "org-a").rows == table.rows


def test_transitions_all_or_nothing() -> None:
    many = {i: [(1, "finances", 2, 1), (4, "finances", 3, 1)] for i in range(12)}
    cells = projection(many)
    key = ReportKey("t", "zrm", "finances", year(2026))
    shown = build_transitions(cells, key, build_report(cells, key, 10), 10)
    assert shown.counts == {(2, 3): 12}
    one_more = {**many, 50: [(1, "finances", 1, 1), (4, "finances", 5, 1)]}
    cells = projection(one_more)
    withheld = build_transitions(cells, key, build_report(cells, key, 10), 10)
    assert withheld.counts is None and withheld.reason is not None
