"""Adversarial tests: an attacker with every published number and all totals."""

from __future__ import annotations

from fractions import Fraction

from effect_measurement.domain.suppression import Layout, Position, suppress
from effect_measurement.domain.tables import SuppressionReason
from hypothesis import given, settings
from hypothesis import strategies as st


def constraint_rows(layout: Layout) -> list[dict[Position, int]]:
    """The equations an attacker knows, written independently of the algorithm's graph."""
    m, n = layout.rows, layout.columns
    rows: list[dict[Position, int]] = []
    if layout.row_totals:
        for i in range(m):
            rows.append({**{(i, j): 1 for j in range(n)}, (i, n): -1})
    if layout.column_totals:
        for j in range(n):
            rows.append({**{(i, j): 1 for i in range(m)}, (m, j): -1})
    if layout.grand_total:
        rows.append({**{(i, n): 1 for i in range(m)}, (m, n): -1})
        rows.append({**{(m, j): 1 for j in range(n)}, (m, n): -1})
    return rows


def determined(layout: Layout, unknown: set[Position]) -> set[Position]:
    """Unknowns the linear system pins down: e_p lies in the row space (exact RREF)."""
    order = sorted(unknown)
    matrix = [[Fraction(eq.get(p, 0)) for p in order] for eq in constraint_rows(layout)]
    matrix = [row for row in matrix if any(row)]
    pivot_row = 0
    for col in range(len(order)):
        pivot = next((r for r in range(pivot_row, len(matrix)) if matrix[r][col] != 0), None)
        if pivot is None:
            continue
        matrix[pivot_row], matrix[pivot] = matrix[pivot], matrix[pivot_row]
        lead = matrix[pivot_row][col]
        matrix[pivot_row] = [v / lead for v in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [
                    a - factor * b for a, b in zip(matrix[r], matrix[pivot_row], strict=True)
                ]
        pivot_row += 1
    found = set()
    for row in matrix[:pivot_row]:
        nonzero = [i for i, v in enumerate(row) if v != 0]
        if len(nonzero) == 1:
            found.add(order[nonzero[0]])
    return found


tables = st.integers(1, 6).flatmap(
    lambda m: st.integers(1, 5).flatmap(
        lambda n: st.lists(
            st.lists(st.one_of(st.integers(0, 12), st.integers(0, 60)), min_size=n, max_size=n),
            min_size=m,
            max_size=m,
        )
    )
)


@given(tables, st.integers(5, 15), st.booleans(), st.booleans())
@settings(max_examples=400, deadline=None)
def test_no_suppressed_cell_can_be_recovered_from_totals(
    values: list[list[int]], k: int, row_totals: bool, column_totals: bool
) -> None:
    result = suppress(values, k, row_totals=row_totals, column_totals=column_totals)
    # nothing published is a small count
    for position, value in result.values.items():
        if not result.is_suppressed(position):
            assert value == 0 or value >= k
    # no suppressed value is pinned down by the published values and totals
    assert determined(result.layout, set(result.reasons)) == set()


@given(tables, st.integers(5, 15))
@settings(max_examples=200, deadline=None)
def test_never_exactly_one_suppressed_cell_in_a_row_or_column(
    values: list[list[int]], k: int
) -> None:
    result = suppress(values, k, row_totals=True, column_totals=True)
    m, n = result.layout.rows, result.layout.columns
    for i in range(m + 1):
        assert sum(result.is_suppressed((i, j)) for j in range(n + 1)) != 1
    for j in range(n + 1):
        assert sum(result.is_suppressed((i, j)) for i in range(m + 1)) != 1


def test_classic_example_suppresses_a_rectangle() -> None:
    result = suppress(
        [[3, 20, 15], [12, 11, 30], [25, 14, 16]], 10, row_totals=True, column_totals=True
    )
    assert result.reasons == {
        (0, 0): SuppressionReason.SMALL_COUNT,
        (0, 2): SuppressionReason.COMPLEMENTARY,
        (1, 0): SuppressionReason.COMPLEMENTARY,
        (1, 2): SuppressionReason.COMPLEMENTARY,
    }


def test_small_grand_total_is_suppressed_with_its_partners() -> None:
    result = suppress([[2, 1], [0, 3]], 10, row_totals=True, column_totals=True)
    assert result.is_suppressed((2, 2))
    assert determined(result.layout, set(result.reasons)) == set()


def test_bridge_between_two_protected_blocks_is_closed() -> None:
    # Two 2x2 blocks of small counts joined by one small cell: degree >= 2 everywhere,
    # yet the joining cell would be exact without a further complement.
    values = [
        [3, 3, 40, 40],
        [3, 3, 4, 40],
        [40, 40, 3, 3],
        [40, 40, 3, 3],
    ]
    result = suppress(values, 10, row_totals=True, column_totals=True)
    assert determined(result.layout, set(result.reasons)) == set()
