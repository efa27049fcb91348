"""Matching and its ranking: category fit, distance band, availability, responsiveness;
stale and hidden social-map entries never; no repeats; the tiered reads give the same list
as ranking everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from marketplace.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from marketplace.demo.taxonomy import DEFAULT_TREE
from marketplace.domain.categories import Categories
from marketplace.domain.matching import (
    CandidateKind,
    Exclusions,
    MapEntry,
    Offer,
    candidates_for,
)
from marketplace.domain.places import NeighbourhoodTable
from marketplace.domain.posts import Post, PostKind, Scope, Timing, When
from marketplace.domain.visibility import Viewer
from marketplace.domain.volunteers import Helper, VolunteerProfile
from marketplace.service.sourcing import candidate_sources
from mp_fakes import FakeRepository, Store
from wijkkracht_common.ranking import Signals, rank

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TABLE = NeighbourhoodTable(list(DEMO_NEIGHBOURHOODS))
CATS = Categories(DEFAULT_TREE)


def request(
    category: str = "wandelen", hood: str = "DM01", radius: float = 5.0, **kw: object
) -> Post:
    return Post.model_validate(
        {
            "id": "req",
            "kind": PostKind.REQUEST,
            "category": category,
            "text": "Wie wandelt mee?",
            "neighbourhood_code": hood,
            "radius_km": radius,
            "owner_id": "piet",
            "posted_by": "piet",
            "created_at": NOW,
            "expires_at": NOW + timedelta(days=30),
            **kw,
        }
    )


def offer(
    oid: str, category: str, hood: str, owner: str, days: frozenset[int] = frozenset()
) -> Offer:
    return Offer(
        oid, owner, category, hood, days, NOW.timestamp(), (NOW + timedelta(days=30)).timestamp()
    )


def volunteer(
    pid: str,
    *cats: str,
    hood: str = "DM01",
    hours: list[float] | None = None,
    days: list[int] | None = None,
) -> VolunteerProfile:
    return VolunteerProfile(
        person_id=pid,
        categories=list(cats),
        weekdays=days or [],
        response_hours=hours or [],
        neighbourhood_code=hood,
        updated_at=NOW,
    )


def helper(pid: str, *cats: str, **kw: object) -> Helper:
    return volunteer(pid, *cats, **kw).helper()  # type: ignore[arg-type]


def entry(eid: str, category: str, pc4: str, state: str = "fresh") -> MapEntry:
    return MapEntry(eid, f"org-{eid}", None, "activity", (category,), (pc4,), state)


def test_category_fit_then_distance_and_no_stale_or_hidden_entries() -> None:
    ranked = candidates_for(
        request(),
        offers=[
            offer("o-far-exact", "wandelen", "DM04", "a"),
            offer("o-near-exact", "wandelen", "DM01", "b"),
            offer("o-near-branch", "beweegles", "DM01", "c"),
            offer("o-unrelated", "schulden", "DM01", "d"),
        ],
        volunteers=[],
        entries=[
            entry("e-fresh", "wandelen", "9903"),
            entry("e-stale", "wandelen", "9903", "stale"),
            entry("e-hidden", "wandelen", "9903", "hidden"),
            entry("e-due", "wandelen", "9904", "due"),
        ],
        table=TABLE,
        categories=CATS,
    )
    refs = [r.item.ref_id for r in ranked]
    assert refs[:2] == ["e-fresh", "o-near-exact"] or refs[:2] == ["o-near-exact", "e-fresh"]
    assert "e-stale" not in refs and "e-hidden" not in refs and "o-unrelated" not in refs
    assert refs.index("o-near-exact") < refs.index("o-far-exact")
    assert refs.index("o-near-exact") < refs.index("o-near-branch")
    assert "e-due" in refs


def test_out_of_radius_blocked_and_own_are_left_out() -> None:
    ranked = candidates_for(
        request(radius=1.0),
        offers=[
            offer("o-own", "wandelen", "DM01", "piet"),
            offer("o-blocked", "wandelen", "DM01", "boos"),
            offer("o-far", "wandelen", "DM06", "e"),
            offer("o-ok", "wandelen", "DM01", "f"),
        ],
        volunteers=[],
        entries=[],
        table=TABLE,
        categories=CATS,
        exclusions=Exclusions(persons=frozenset({"boos"})),
    )
    assert [r.item.ref_id for r in ranked] == ["o-ok"]


def test_no_repeats_of_the_same_helper_and_vog_where_required() -> None:
    ranked = candidates_for(
        request(),
        offers=[offer("o1", "wandelen", "DM01", "vera"), offer("o2", "wandelen", "DM02", "vera")],
        volunteers=[helper("vera", "wandelen"), helper("wim", "wandelen")],
        entries=[],
        table=TABLE,
        categories=CATS,
        exclusions=Exclusions(vog_required=True, vog_valid=frozenset({"vera"})),
    )
    helpers = [r.item.person_id for r in ranked]
    assert helpers.count("vera") == 1 and "wim" not in helpers


def test_availability_and_responsiveness_order_equal_volunteers() -> None:
    tuesday = request(when=When(timing=Timing.ONCE, on=datetime(2026, 3, 3).date()))
    ranked = candidates_for(
        tuesday,
        offers=[],
        volunteers=[
            helper("slow-any", "wandelen", hours=[72]),
            helper("fast-tue", "wandelen", hours=[1], days=[1]),
            helper("fast-wed", "wandelen", hours=[1], days=[2]),
        ],
        entries=[],
        table=TABLE,
        categories=CATS,
    )
    assert [r.item.ref_id for r in ranked] == ["fast-tue", "slow-any", "fast-wed"]
    assert all(r.item.kind is CandidateKind.VOLUNTEER for r in ranked)


def test_rank_keeps_the_best_of_each_key_and_breaks_ties_by_distance() -> None:
    items = [("a", 0.9, 2.0), ("a", 0.5, 1.0), ("b", 0.9, 1.0), ("c", 0.0, 0.0)]
    ranked = rank(
        items,
        signals=lambda i: Signals(fit=i[1], distance_km=i[2], reach_km=5.0),
        key=lambda i: i[0],
        tie=lambda i: i[0],
    )
    assert [(r.item[0], r.item[1]) for r in ranked] == [("b", 0.9), ("a", 0.9)]


CODES = sorted(Categories(DEFAULT_TREE).codes)
HOODS = [n.code for n in DEMO_NEIGHBOURHOODS]


@settings(max_examples=60, deadline=None)
@given(
    wanted=st.sampled_from(CODES),
    radius=st.sampled_from([1.0, 3.0, 6.0]),
    limit=st.integers(1, 8),
    offers=st.lists(
        st.tuples(st.sampled_from(CODES), st.sampled_from(HOODS), st.integers(0, 9)), max_size=25
    ),
    helpers=st.lists(
        st.tuples(st.lists(st.sampled_from(CODES), min_size=1, max_size=3), st.sampled_from(HOODS)),
        max_size=8,
    ),
)
async def test_tiered_reads_rank_like_reading_everything(
    wanted: str,
    radius: float,
    limit: int,
    offers: list[tuple[str, str, int]],
    helpers: list[tuple[list[str], str]],
) -> None:
    store = Store()
    repo = FakeRepository(store)
    await repo.replace_neighbourhoods(list(DEMO_NEIGHBOURHOODS))
    all_offers = []
    for i, (code, hood, owner) in enumerate(offers):
        post = request(
            category=code, hood=hood, id=f"o{i:02d}", kind=PostKind.OFFER, owner_id=f"p{owner}"
        )
        await repo.save_post(post)
        all_offers.append(offer(post.id, code, hood, f"p{owner}"))
    volunteers = []
    for i, (codes, hood) in enumerate(helpers):
        profile = volunteer(f"v{i}", *codes, hood=hood)
        await repo.save_volunteer(profile)
        volunteers.append(profile.helper())
    wanted_post = request(category=wanted, radius=radius)
    viewer = Viewer("piet", neighbourhood_code="DM01")
    tiered = await candidate_sources(repo, wanted_post, viewer, TABLE, CATS, None, limit=limit)
    full = candidates_for(
        wanted_post,
        offers=all_offers,
        volunteers=volunteers,
        entries=[],
        table=TABLE,
        categories=CATS,
        limit=limit,
    )
    assert [(r.item.kind, r.item.ref_id, r.score) for r in tiered] == [
        (r.item.kind, r.item.ref_id, r.score) for r in full
    ]


async def test_group_posts_and_posts_under_review_are_not_suggested_to_outsiders() -> None:
    repo = FakeRepository(Store())
    await repo.replace_neighbourhoods(list(DEMO_NEIGHBOURHOODS))
    for oid, extra in (
        ("o-group", {"scope": Scope.GROUP, "group_id": "g1"}),
        ("o-review", {"under_review": True}),
        ("o-open", {}),
    ):
        await repo.save_post(request(id=oid, kind=PostKind.OFFER, owner_id=f"owner-{oid}", **extra))
    outsider = Viewer("piet", neighbourhood_code="DM01")
    found = await candidate_sources(repo, request(), outsider, TABLE, CATS, None, limit=10)
    assert [r.item.ref_id for r in found] == ["o-open"]
    member = Viewer("piet", neighbourhood_code="DM01", groups=frozenset({"g1"}))
    found = await candidate_sources(repo, request(), member, TABLE, CATS, None, limit=10)
    assert sorted(r.item.ref_id for r in found) == ["o-group", "o-open"]
