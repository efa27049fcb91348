"""The balance figures over time (a differencing attack): an analyst who queries before and
after one known person's post must not learn where it went. For a post in a cell below k,
every published table (per neighbourhood, per category, both) is identical before and after,
whichever category the post has; rounding keeps a published row's figures unchanged unless a
count crosses a rounding boundary (effect measurement's rules, docs/decisions.md)."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st
from marketplace.domain.balance import GroupBy, Tally, round_to_base, table

HOODS = ["DM01", "DM02", "DM03"]
CATS = ["administratie", "schulden", "taal", "wandelen"]
K = 10


@st.composite
def tallies(draw: st.DrawFn) -> Tally:
    requests = draw(st.integers(0, 30))
    return Tally(
        requests=requests,
        open_requests=draw(st.integers(0, requests)),
        supply=draw(st.integers(0, 30)),
        matched=draw(st.integers(0, requests)),
        completed=draw(st.integers(0, 20)),
        first_response_hours=draw(st.lists(st.floats(0, 200, allow_nan=False), max_size=requests)),
    )


worlds = st.dictionaries(
    st.tuples(st.sampled_from(HOODS), st.sampled_from(CATS)), tallies(), max_size=12
)


def published(cells: dict[tuple[str, str], Tally]) -> dict[GroupBy, list[object]]:
    return {
        by: table(cells, by, K, neighbourhoods=HOODS, categories=CATS, base=5) for by in GroupBy
    }


def with_request(
    cells: dict[tuple[str, str], Tally], hood: str, category: str
) -> dict[tuple[str, str], Tally]:
    after = copy.deepcopy(cells)
    cell = after.setdefault((hood, category), Tally())
    cell.requests += 1
    cell.open_requests += 1
    return after


def small(cells: dict[tuple[str, str], Tally], key: tuple[str, str]) -> bool:
    t = cells.get(key, Tally())
    return t.requests < K or t.supply < K


@settings(max_examples=300, deadline=None)
@given(worlds, st.sampled_from(HOODS), st.sampled_from(CATS), st.sampled_from(CATS))
def test_a_post_in_a_small_cell_changes_no_published_figure(
    cells: dict[tuple[str, str], Tally], hood: str, first: str, second: str
) -> None:
    one, other = with_request(cells, hood, first), with_request(cells, hood, second)
    if small(one, (hood, first)) and small(other, (hood, second)):
        before = published(cells)
        assert published(one) == before
        assert published(other) == before


def test_the_known_attack_on_the_category_table() -> None:
    """Piet (DM01) posts one request; an analyst compares the per-category table before and
    after. His cell (DM01 x schulden) is small; other neighbourhoods' schulden is published."""
    cells = {
        ("DM02", "schulden"): Tally(requests=20, open_requests=12, supply=15),
        ("DM01", "schulden"): Tally(requests=2, open_requests=2, supply=3),
        ("DM01", "taal"): Tally(requests=12, open_requests=10, supply=11),
    }
    assert published(with_request(cells, "DM01", "schulden")) == published(cells)


@given(st.integers(0, 1000), st.integers(1, 10))
def test_rounding_moves_a_figure_only_across_a_boundary(value: int, base: int) -> None:
    low, high = round_to_base(value, base), round_to_base(value + 1, base)
    assert low % base == 0 and abs(low - value) <= base // 2
    assert high in (low, low + base)
