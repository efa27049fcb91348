"""Small-cell and complementary suppression of one additive table with its totals.

The table is "augmented": data cells (i, j) for i < m, j < n; with row totals a column n holds
them, with column totals a row m holds them; the grand total (m, n) exists when both are shown.

Why a graph: write each total with a minus sign and every shown row and column of the augmented
table sums to zero. The suppressed cells are the unknowns: edges of a bipartite graph between
row and column vertices; a vertex whose equation is not published (e.g. data rows when no row
totals are shown) is merged into one FREE vertex. A suppressed cell can be solved exactly from
the published numbers iff its edge is a bridge of that graph (no cycle runs through it: on a
cycle one can add +t/-t alternately and every equation still holds). So:

1. primary: suppress every cell (totals included) with 0 < count < k, plus forced ones;
2. complementary: while some suppressed cell is a bridge, also suppress an unsuppressed cell
   that closes a cycle through it: the smallest such cell, preferring data cells over totals
   and non-zero counts over zeros (a zero next to a small count narrows its range the most).
   A row or column with a single suppressed cell is the simplest bridge, so the classic rule
   "never exactly one suppressed cell in a row or column" holds; the grand total is handled
   the same way as any other cell.

Zero cells are not primary-suppressed: "nobody" identifies nobody. With
``zeros_beside_suppressed`` (every published table of this service, `disclosure.py` rule 3)
a zero in a row that has a suppressed cell is hidden too: beside a hidden "improved", a
published "same = 0, worse = 0" says what the hidden cell holds.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from effect_measurement.domain.tables import SuppressionReason

Position = tuple[int, int]
Vertex = tuple[str, int]
FREE: Vertex = ("free", 0)


@dataclass(frozen=True, slots=True)
class Layout:
    rows: int
    columns: int
    row_totals: bool
    column_totals: bool

    @property
    def grand_total(self) -> bool:
        return self.row_totals and self.column_totals

    def positions(self) -> list[Position]:
        result = [(i, j) for i in range(self.rows) for j in range(self.columns)]
        if self.row_totals:
            result += [(i, self.columns) for i in range(self.rows)]
        if self.column_totals:
            result += [(self.rows, j) for j in range(self.columns)]
        if self.grand_total:
            result.append((self.rows, self.columns))
        return result

    def is_total(self, position: Position) -> bool:
        return position[0] == self.rows or position[1] == self.columns

    def _vertex(self, kind: str, index: int) -> Vertex:
        limit = self.rows if kind == "r" else self.columns
        if index < limit:
            constrained = self.row_totals if kind == "r" else self.column_totals
        else:  # the totals row / column: its equation is the grand total's
            constrained = self.grand_total
        return (kind, index) if constrained else FREE

    def endpoints(self, position: Position) -> tuple[Vertex, Vertex]:
        return self._vertex("r", position[0]), self._vertex("c", position[1])


def augment(values: Sequence[Sequence[int]], layout: Layout) -> dict[Position, int]:
    grid: dict[Position, int] = {}
    for i in range(layout.rows):
        for j in range(layout.columns):
            grid[(i, j)] = values[i][j]
    if layout.row_totals:
        for i in range(layout.rows):
            grid[(i, layout.columns)] = sum(values[i])
    if layout.column_totals:
        for j in range(layout.columns):
            grid[(layout.rows, j)] = sum(values[i][j] for i in range(layout.rows))
    if layout.grand_total:
        grid[(layout.rows, layout.columns)] = sum(sum(row) for row in values)
    return grid


def _reachable(
    start: Vertex, edges: dict[Position, tuple[Vertex, Vertex]], skip: Position
) -> set[Vertex]:
    neighbours: dict[Vertex, list[Vertex]] = defaultdict(list)
    for position, (a, b) in edges.items():
        if position != skip:
            neighbours[a].append(b)
            neighbours[b].append(a)
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in neighbours[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def find_exposed(
    layout: Layout, suppressed: Iterable[Position]
) -> tuple[Position, set[Vertex], set[Vertex]] | None:
    """A suppressed cell the published numbers determine, with the two sides of its bridge."""
    edges = {p: layout.endpoints(p) for p in sorted(suppressed)}
    for position, (a, b) in edges.items():
        if a == b:
            continue  # a self-loop at FREE: no published equation mentions it alone
        side_a = _reachable(a, edges, position)
        if b not in side_a:
            return position, side_a, _reachable(b, edges, position)
    return None


@dataclass(frozen=True, slots=True)
class Suppression:
    layout: Layout
    values: dict[Position, int]
    reasons: dict[Position, SuppressionReason]

    def is_suppressed(self, position: Position) -> bool:
        return position in self.reasons


def _zeros_beside(
    layout: Layout, grid: dict[Position, int], reasons: dict[Position, SuppressionReason]
) -> list[Position]:
    """Published zeros in a row (the totals row too) that has a suppressed cell."""
    rows_with_hidden = {p[0] for p in reasons}
    return [p for p, v in grid.items() if v == 0 and p not in reasons and p[0] in rows_with_hidden]


def suppress(
    values: Sequence[Sequence[int]],
    k: int,
    *,
    row_totals: bool,
    column_totals: bool,
    force: Iterable[tuple[Position, SuppressionReason]] = (),
    columns: int | None = None,
    zeros_beside_suppressed: bool = False,
) -> Suppression:
    """Primary and complementary suppression of one table; see the module docstring.

    ``columns`` gives the width of a table that has no rows (yet). ``force``: cells hidden
    whatever their value (a later entry's reason wins for the same cell).
    """
    width = columns if columns is not None else (len(values[0]) if values else 0)
    layout = Layout(len(values), width, row_totals, column_totals)
    grid = augment(values, layout)
    reasons: dict[Position, SuppressionReason] = {}
    for position, reason in force:
        if position in grid:
            reasons[position] = reason
    for position, value in grid.items():
        if 0 < value < k and position not in reasons:
            reasons[position] = SuppressionReason.SMALL_COUNT

    def rank(p: Position) -> tuple[bool, bool, int, Position]:
        return (layout.is_total(p), grid[p] == 0, grid[p], p)

    while True:
        if zeros_beside_suppressed:
            for position in _zeros_beside(layout, grid, reasons):
                reasons[position] = SuppressionReason.COMPLEMENTARY
        exposed = find_exposed(layout, reasons)
        if exposed is None:
            break
        bridge, side_a, side_b = exposed
        free = [p for p in grid if p not in reasons]
        ends = {p: layout.endpoints(p) for p in free}
        closing = [
            p
            for p in free
            if (ends[p][0] in side_a and ends[p][1] in side_b)
            or (ends[p][0] in side_b and ends[p][1] in side_a)
        ]
        if not closing:
            # No single cell closes a cycle: grow from the bridge's lonelier end (for a row
            # with one suppressed cell: the next-smallest cell in that row), then try again.
            degree: dict[Vertex, int] = defaultdict(int)
            for q in reasons:
                for vertex in layout.endpoints(q):
                    degree[vertex] += 1
            a, b = layout.endpoints(bridge)
            for end_vertex in sorted((a, b), key=lambda v: degree[v]):
                closing = [p for p in free if end_vertex in ends[p] and ends[p][0] != ends[p][1]]
                if closing:
                    break
        if not closing:  # cannot happen on a full grid; fail closed all the same
            reasons.update({p: SuppressionReason.COMPLEMENTARY for p in free})
            break
        reasons[min(closing, key=rank)] = SuppressionReason.COMPLEMENTARY
    return Suppression(layout, grid, reasons)
