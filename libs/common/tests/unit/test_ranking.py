"""The shared ranking (`wijkkracht_common.ranking`): no repeats of a key in a top list,
a nearer equally fitting item never below a farther one, stale and hidden never returned,
fit to the lowest dimension and the age band."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from wijkkracht_common.ranking import (
    MAP_FRESHNESS,
    Leaderboard,
    Ranked,
    Signals,
    audience_fit,
    best_possible,
    dimension_fit,
    map_freshness,
    order_key,
    proximity,
    rank,
    weighted_score,
)


@dataclass(frozen=True)
class Item:
    id: str
    service: str
    fit: float
    km: float | None
    state: str = "fresh"
    audience: float = 0.5


def signals(item: Item) -> Signals | None:
    freshness = map_freshness(item.state)
    if freshness is None:
        return None
    return Signals(item.fit, item.km, 5.0, audience=item.audience, freshness=freshness)


def ranked_ids(items: list[Item], limit: int = 10, fill: bool = False) -> list[str]:
    found = rank(
        items,
        signals=signals,
        key=lambda i: i.service,
        tie=lambda i: i.id,
        limit=limit,
        fill_with_repeats=fill,
    )
    return [r.item.id for r in found]


items_st = st.lists(
    st.builds(
        Item,
        id=st.text("abcdefgh", min_size=1, max_size=6),
        service=st.sampled_from(["walk", "coffee", "debt", "vacancy", "choir"]),
        fit=st.sampled_from([0.0, 0.3, 0.6, 1.0]),
        km=st.one_of(st.none(), st.floats(0.0, 5.0)),
        state=st.sampled_from(["fresh", "due", "stale", "hidden"]),
        audience=st.sampled_from([0.5, 1.0]),
    ),
    max_size=30,
    unique_by=lambda i: i.id,
)


@settings(max_examples=100, deadline=None)
@given(items=items_st, limit=st.integers(1, 12))
def test_no_service_twice_and_never_stale_or_hidden(items: list[Item], limit: int) -> None:
    by_id = {i.id: i for i in items}
    found = ranked_ids(items, limit)
    services = [by_id[i].service for i in found]
    assert len(services) == len(set(services)) and len(found) <= limit
    assert all(by_id[i].state in MAP_FRESHNESS and by_id[i].fit > 0 for i in found)
    # with fill_with_repeats a short list is filled, but a new service always comes first
    filled = [by_id[i].service for i in ranked_ids(items, limit, fill=True)]
    first_repeat = next((n for n, s in enumerate(filled) if s in filled[:n]), len(filled))
    assert len(set(filled)) == first_repeat
    assert all(by_id[i].state in MAP_FRESHNESS for i in ranked_ids(items, limit, fill=True))


@settings(max_examples=100, deadline=None)
@given(
    items=items_st,
    fit=st.sampled_from([0.3, 0.6, 1.0]),
    near=st.floats(0.0, 4.0),
    further=st.floats(1e-6, 1.0),
    state=st.sampled_from(["fresh", "due"]),
)
def test_a_nearer_equally_fitting_item_never_ranks_below_a_farther_one(
    items: list[Item], fit: float, near: float, further: float, state: str
) -> None:
    farther = near + further
    a = Item("zz-near", "near-service", fit, near, state)
    b = Item("aa-far", "far-service", fit, farther, state)
    found = ranked_ids([*items, b, a], limit=40)
    assert found.index("zz-near") < found.index("aa-far")


def test_proximity_halves_every_third_of_the_reach_and_strictly_decreases() -> None:
    assert proximity(0.0, 6.0) == 1.0
    assert abs(proximity(2.0, 6.0) - 0.5) < 1e-12
    assert proximity(0.215, 5.0) > proximity(0.78, 5.0) > proximity(None, 5.0) > proximity(5, 5)


def test_the_lowest_dimension_decides_the_fit() -> None:
    focus = ["daily_functioning", "mental_wellbeing"]
    debt_help = dimension_fit(focus, ["daily_functioning", "mental_wellbeing"])
    paperwork = dimension_fit(focus, ["daily_functioning"])
    parenting = dimension_fit(focus, ["mental_wellbeing", "daily_functioning"])
    assert debt_help == paperwork == 1.0 > parenting == 0.8
    assert dimension_fit(focus, ["mental_wellbeing"]) == 0.6
    assert dimension_fit(focus, ["participation"]) == 0.0
    # serving more of the focus adds nothing
    piet = ["participation", "meaningfulness"]
    assert dimension_fit(piet, ["participation", "bodily_functions"]) == 1.0
    assert dimension_fit(piet, ["meaningfulness", "participation"]) == 0.8


def test_age_band_aimed_at_the_person_fits_better_and_excludes_others() -> None:
    assert audience_fit(66, 55, None) == 1.0  # a 55+ walking group
    assert audience_fit(66, 16, None) == audience_fit(66, None, None) == 0.5  # everyone
    assert audience_fit(66, 12, 23) is None  # youth work
    assert audience_fit(19, 12, 23) == 1.0
    assert audience_fit(None, 12, 23) == 0.5  # age unknown: nobody is left out


def test_the_story_walking_group_nearby_beats_a_vacancy_bank_further_away() -> None:
    """Piet, 66, lowest participation: both fit; the walking group is 215 m away, 55+."""
    walk = Item("walk", "Wandelgroep De Stappers", 1.0, 0.215, audience=1.0)
    bank = Item("bank", "Vrijwilligersvacaturebank", 1.0, 0.78)
    bank2 = Item("bank-2", "Vrijwilligersvacaturebank", 1.0, 1.05)
    assert ranked_ids([bank, bank2, walk]) == ["walk", "bank"]
    assert ranked_ids([bank, bank2, walk], fill=True) == ["walk", "bank", "bank-2"]


def test_best_possible_bounds_every_score() -> None:
    top = Signals(0.6, 0.0, 5.0, audience=1.0, availability=1.0, responsiveness=1.0)
    assert top.score() == round(best_possible(0.6), 9)
    assert Signals(0.6, 1.0, 5.0).score() < best_possible(0.6)
    assert rank([1], signals=lambda _: top, key=str, tie=str, limit=0) == []


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    items=st.lists(
        st.builds(
            Item,
            # few ids, services and distances: equal orders, repeated tie-breaks; and
            # different items of equal score (fit 0.625 for everyone = 0.5 aimed at one)
            id=st.sampled_from("abc"),
            service=st.sampled_from(["walk", "coffee", "debt", "choir"]),
            fit=st.sampled_from([0.0, 0.5, 0.625, 1.0]),
            km=st.sampled_from([None, 0.0, 2.0]),
            state=st.sampled_from(["fresh", "due", "stale"]),
            audience=st.sampled_from([0.5, 1.0]),
        ),
        max_size=40,
    ),
    limit=st.integers(0, 6),
    order=st.randoms(use_true_random=False),
)
def test_a_leaderboard_fed_in_any_order_keeps_what_rank_returns(
    items: list[Item], limit: int, order: random.Random
) -> None:
    """Items given one by one (shuffled, only the arrival order of equal ones kept) end as
    `rank` orders them, including items of equal score, distance and tie-break."""
    ranked = rank(items, signals=signals, key=lambda i: i.service, tie=lambda i: i.id, limit=limit)
    assert on_a_board(_shuffled_keeping_equals_in_order(items, order), limit) == ranked


def test_of_equal_items_a_leaderboard_keeps_the_first_given_like_rank() -> None:
    # fit 0.625 for everyone scores what fit 0.5 aimed at the person's age does
    first = Item("a", "walk", 0.625, 0.0)
    same_service = Item("a", "walk", 0.5, 0.0, audience=1.0)
    other_service = Item("a", "coffee", 0.5, 0.0, audience=1.0)
    better = Item("b", "debt", 1.0, 0.0)
    for items in ([first, same_service], [first, other_service, better]):
        ranked = rank(items, signals=signals, key=lambda i: i.service, tie=lambda i: i.id, limit=2)
        assert on_a_board(items, 2) == ranked
        assert ranked[-1].item == first


def on_a_board(items: list[Item], limit: int) -> list[Ranked[Item]]:
    board: Leaderboard[Ranked[Item]] = Leaderboard(limit)
    for item in items:
        s = signals(item)
        if s is not None and s.qualifies():
            ranked_item = Ranked(item, s, s.score())
            board.add(item.service, order_key(s.score(), s.distance_km, item.id), ranked_item)
    return board.ranked()


def _shuffled_keeping_equals_in_order(items: list[Item], order: random.Random) -> list[Item]:
    """Shuffled, but items of the same order keep their relative order: of equal ones,
    `rank` (a stable sort) keeps the first given, and so does the board."""

    def order_of(item: Item) -> tuple[float, float, str] | None:
        s = signals(item)
        return None if s is None else order_key(s.score(), s.distance_km, item.id)

    equals: dict[object, list[Item]] = {}
    for item in items:
        equals.setdefault(order_of(item), []).append(item)
    places = [order_of(i) for i in items]
    order.shuffle(places)
    return [equals[place].pop(0) for place in places]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    low=st.tuples(*[st.floats(0.0, 1.0)] * 6),
    rise=st.tuples(*[st.floats(0.0, 1.0)] * 6),
)
def test_the_score_never_falls_when_a_signal_rises(
    low: tuple[float, ...], rise: tuple[float, ...]
) -> None:
    """What lets a caller bound a group's scores by its best possible signals."""
    high = tuple(min(a + b, 1.0) for a, b in zip(low, rise, strict=True))
    assert weighted_score(*low) <= weighted_score(*high)
    as_signals = Signals(low[0], None, 5.0, *low[2:])
    assert as_signals.score() == weighted_score(low[0], as_signals.proximity, *low[2:])
