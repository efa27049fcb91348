"""Matching's fast path (offers scored bucket by bucket, best first, until none can enter the
list) gives exactly what ranking every candidate gives: the same candidates, signals, scores
and order, ties included, with every exclusion applied (owner, blocks, VOG, scope, under
review, the request itself). The reference works out each candidate on its own, as matching
did before the fast path, and ranks them all with `rank`."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marketplace.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from marketplace.domain import matching
from marketplace.domain.matching import (
    Candidate,
    CandidateKind,
    Exclusions,
    MapEntry,
    Offer,
    candidates_for,
)
from marketplace.domain.places import (
    EARTH_RADIUS_KM,
    DistanceBand,
    Neighbourhood,
    NeighbourhoodTable,
    band_of,
)
from marketplace.domain.posts import PartOfDay, Post, Scope, Timing, When
from marketplace.domain.visibility import Viewer, scope_allows
from marketplace.domain.volunteers import Helper
from marketplace.service.sourcing import candidate_sources
from test_ranking import CATS, CODES, HOODS, NOW, TABLE, request
from wijkkracht_common.ranking import Ranked, Signals, map_freshness, rank

PERSONS = [f"p{i}" for i in range(8)]
PC4S = [pc4 for n in DEMO_NEIGHBOURHOODS for pc4 in n.pc4s] + ["0000"]  # one unknown
GROUPS = ["g1", "g2"]
# a few instants only, so that many offers score the same (ties)
CREATED = [NOW - timedelta(days=d) for d in (0, 3, 10)]
LIFETIMES = [timedelta(days=d) for d in (7, 30)]


@dataclass(frozen=True)
class Case:
    request: Post
    limit: int
    offers: list[Offer]
    volunteers: list[Helper] = field(default_factory=list)
    entries: list[MapEntry] = field(default_factory=list)


def seen_from(
    request: Post, code: str | None, table: NeighbourhoodTable, reach_km: float
) -> tuple[str, DistanceBand, float] | None:
    """Neighbourhood `code` from the request's: (code, band, distance) as a candidate shows
    them; None when unknown or beyond `reach_km`."""
    home, there = table.get(request.neighbourhood_code), table.get(code)
    if home is None or there is None or table.distance(home, there) > reach_km:
        return None
    return there.code, band_of(home, there), table.distance(home, there)


def offer_pair(
    request: Post, offer: Offer, table: NeighbourhoodTable
) -> tuple[Candidate, Signals] | None:
    """An offer's candidate and signals, worked out on its own (the ranking's definition)."""
    place = seen_from(request, offer.neighbourhood_code, table, request.radius_km)
    if place is None:
        return None
    days = request.when.weekdays_meant()
    availability = 0.5 if not days or not offer.weekdays else float(bool(days & offer.weekdays))
    life = max(offer.expires_ts - offer.created_ts, 1.0)
    left = max(offer.expires_ts - request.created_at.timestamp(), 0.0)
    freshness = 0.5 + 0.5 * min(left / life, 1.0)
    fit = CATS.fit(request.category, offer.category)
    candidate = Candidate(CandidateKind.OFFER, offer.id, offer.owner_id, offer.category, *place)
    d = place[2]
    return candidate, Signals(
        fit, d, request.radius_km, availability=availability, freshness=freshness
    )


def volunteer_pair(
    request: Post, volunteer: Helper, table: NeighbourhoodTable
) -> tuple[Candidate, Signals] | None:
    reach = max(request.radius_km, volunteer.radius_km)
    place = seen_from(request, volunteer.neighbourhood_code, table, reach)
    if place is None:
        return None
    fit = max(CATS.fit(request.category, c) for c in volunteer.categories)
    categories, person = volunteer.categories, volunteer.person_id
    shown = request.category if request.category in categories else categories[0]
    candidate = Candidate(CandidateKind.VOLUNTEER, person, person, shown, *place)
    availability = volunteer.availability_fit(request.when)
    signals = Signals(
        fit,
        place[2],
        request.radius_km,
        availability=availability,
        responsiveness=volunteer.responsiveness,
    )
    return candidate, signals


def entry_pair(
    request: Post, entry: MapEntry, table: NeighbourhoodTable
) -> tuple[Candidate, Signals] | None:
    home = table.get(request.neighbourhood_code)
    freshness = map_freshness(entry.state)
    if home is None or freshness is None or not entry.active:
        return None
    places = [n for n in (table.of_pc4(p) for p in entry.pc4s) if n is not None]
    if not places:
        return None
    there = min(places, key=lambda n: (table.distance(home, n), n.code))
    place = seen_from(request, there.code, table, request.radius_km)
    if place is None:
        return None
    fit = max(CATS.fit(request.category, c) for c in entry.categories)
    shown = max(entry.categories, key=lambda c: (CATS.fit(request.category, c), c))
    candidate = Candidate(CandidateKind.MAP_ENTRY, entry.entry_id, None, shown, *place)
    return candidate, Signals(fit, place[2], request.radius_km, freshness=freshness)


def offer_left_out(request: Post, offer: Offer, excluded: set[str], viewer: Viewer | None) -> bool:
    if offer.owner_id in excluded or offer.id == request.id or offer.under_review:
        return True
    scope = (offer.scope, offer.group_id, offer.neighbourhood_code)
    return viewer is not None and not scope_allows(*scope, viewer)


def rank_everything(
    case: Case, exclusions: Exclusions, table: NeighbourhoodTable = TABLE
) -> list[Ranked[Candidate]]:
    """Every candidate scored, then one `rank` over all of them."""
    request = case.request
    excluded = set(exclusions.persons) | {request.owner_id or ""}
    found: list[tuple[Candidate, Signals] | None] = [
        offer_pair(request, o, table)
        for o in case.offers
        if not offer_left_out(request, o, excluded, exclusions.viewer)
    ]
    for v in case.volunteers:
        vog_missing = exclusions.vog_required and v.person_id not in exclusions.vog_valid
        if v.person_id not in excluded and not vog_missing:
            found.append(volunteer_pair(request, v, table))
    found += [entry_pair(request, e, table) for e in case.entries]
    pairs = [p for p in found if p is not None]
    ranked = rank(
        pairs,
        signals=lambda p: p[1],
        key=lambda p: (
            f"person:{p[0].person_id}" if p[0].person_id else f"{p[0].kind}:{p[0].ref_id}"
        ),
        tie=lambda p: f"{p[0].kind}:{p[0].ref_id}",
        limit=case.limit,
    )
    return [Ranked(r.item[0], r.signals, r.score) for r in ranked]


def when_st() -> st.SearchStrategy[When]:
    days = st.lists(st.integers(0, 6), min_size=1, max_size=3, unique=True)
    return st.one_of(
        st.just(When()),
        days.map(lambda d: When(timing=Timing.RECURRING, weekdays=d)),
        st.integers(0, 6).map(lambda i: When(timing=Timing.ONCE, on=date(2026, 3, 2 + i))),
    )


owner_st = st.one_of(st.sampled_from([*PERSONS, "piet"]), st.none())  # None: an organisation
weekdays_st = st.frozensets(st.integers(0, 6), max_size=2)


@st.composite
def offers_st(draw: st.DrawFn) -> list[Offer]:
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(CODES),
                st.sampled_from(HOODS),
                owner_st,
                weekdays_st,
                st.sampled_from(CREATED),
                st.sampled_from(LIFETIMES),
                st.sampled_from([(Scope.TENANT, None), (Scope.NEIGHBOURHOOD, None)])
                | st.sampled_from(GROUPS).map(lambda g: (Scope.GROUP, g)),
                st.integers(0, 4).map(lambda i: i == 0),  # under review, now and then
            ),
            max_size=60,
        )
    )
    offers = [
        Offer(
            f"o{i:03d}",
            owner,
            code,
            hood,
            days,
            c.timestamp(),
            (c + life).timestamp(),
            *scope,
            review,
        )
        for i, (code, hood, owner, days, c, life, scope, review) in enumerate(rows)
    ]
    if offers and draw(st.booleans()):  # the request itself is among the open posts
        offers[0] = replace(offers[0], id="req")
    return offers


helpers_st = st.lists(
    st.builds(
        Helper,
        person_id=st.sampled_from(PERSONS),
        neighbourhood_code=st.one_of(st.sampled_from(HOODS), st.none()),
        categories=st.lists(st.sampled_from(CODES), min_size=1, max_size=3).map(tuple),
        weekdays=weekdays_st,
        parts_of_day=st.frozensets(st.sampled_from(list(PartOfDay)), max_size=1),
        radius_km=st.sampled_from([1.0, 3.0, 10.0]),
        responsiveness=st.sampled_from([0.5, 0.9]),
    ),
    max_size=8,
    unique_by=lambda h: h.person_id,
)

entries_st = st.lists(
    st.builds(
        MapEntry,
        entry_id=st.sampled_from([f"e{i}" for i in range(10)]),
        organization_id=st.just("org"),
        owner_organisation=st.none(),
        kind=st.just("activity"),
        categories=st.lists(st.sampled_from(CODES), min_size=1, max_size=2).map(tuple),
        pc4s=st.lists(st.sampled_from(PC4S), min_size=1, max_size=2).map(tuple),
        state=st.sampled_from(["fresh", "due", "stale", "hidden"]),
        active=st.booleans(),
    ),
    max_size=8,
    unique_by=lambda e: e.entry_id,
)

viewer_st = st.one_of(
    st.none(),
    st.builds(
        Viewer,
        person_id=st.just("piet"),
        neighbourhood_code=st.sampled_from(HOODS),
        groups=st.frozensets(st.sampled_from(GROUPS)),
        helper=st.booleans(),
    ),
)

exclusions_st = st.builds(
    Exclusions,
    persons=st.frozensets(st.sampled_from(PERSONS), max_size=3),
    vog_required=st.booleans(),
    vog_valid=st.frozensets(st.sampled_from(PERSONS)),
    viewer=viewer_st,
)


def both(
    case: Case, exclusions: Exclusions, table: NeighbourhoodTable = TABLE
) -> tuple[list[Ranked[Candidate]], list[Ranked[Candidate]]]:
    fast = candidates_for(
        case.request,
        offers=case.offers,
        volunteers=case.volunteers,
        entries=case.entries,
        table=table,
        categories=CATS,
        exclusions=exclusions,
        limit=case.limit,
    )
    return fast, rank_everything(case, exclusions, table)


@st.composite
def cases(draw: st.DrawFn, radii: tuple[float, ...], most: int) -> Case:
    """A request (its category, neighbourhood, radius, days) and the market around it."""
    wanted = request(
        category=draw(st.sampled_from(CODES)),
        hood=draw(st.sampled_from(HOODS)),
        radius=draw(st.sampled_from(radii)),
        when=draw(when_st()),
    )
    limit = draw(st.integers(1, most))
    return Case(wanted, limit, draw(offers_st()), draw(helpers_st), draw(entries_st))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(case=cases((0.5, 1.0, 3.0, 6.0, 25.0), 25), exclusions=exclusions_st)
def test_the_fast_path_ranks_exactly_like_ranking_everything(
    case: Case, exclusions: Exclusions
) -> None:
    fast, full = both(case, exclusions)
    assert fast == full


def compass(km: float) -> NeighbourhoodTable:
    """A home at (0, 0) with neighbourhoods due north, east, south and west of it, each
    exactly as far (`km`), and twice as far to the north: offers of one category in those
    four score exactly alike, so only the tie-break orders them."""
    step = math.degrees(km / EARTH_RADIUS_KM)
    spots = {"H": (0.0, 0.0), "N": (step, 0.0), "E": (0.0, step), "S": (-step, 0.0)}
    spots |= {"W": (0.0, -step), "NN": (2 * step, 0.0)}
    return NeighbourhoodTable([Neighbourhood(c, c, lat, lon) for c, (lat, lon) in spots.items()])


COMPASS = compass(0.9)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    limit=st.integers(1, 6),
    rows=st.lists(
        st.tuples(
            st.integers(0, 40),  # offer id: tie-breaks interleave across neighbourhoods
            st.sampled_from(["wandelen", "beweegles"]),
            st.sampled_from(sorted(COMPASS.codes)),
            st.sampled_from(PERSONS),
            weekdays_st,
            st.sampled_from([NOW, NOW - timedelta(days=3)]),  # freshness 1 or 0.95 (30 days)
        ),
        max_size=40,
        unique_by=lambda r: r[0],
    ),
)
def test_exact_ties_across_neighbourhoods_order_like_ranking_everything(
    limit: int, rows: list[tuple[int, str, str, str, frozenset[int], Any]]
) -> None:
    offers = [
        Offer(f"o{i:02d}", owner, code, hood, days, c.timestamp(), (c + LIFETIMES[1]).timestamp())
        for i, code, hood, owner, days, c in rows
    ]
    tuesday = When(timing=Timing.RECURRING, weekdays=[1])
    wanted_post = request(hood="H", radius=3.0, when=tuesday)
    home = COMPASS.get("H")
    assert home is not None
    compass_points = {
        COMPASS.distance(home, n) for n in COMPASS.rows if n.code in ("N", "E", "S", "W")
    }
    assert compass_points == {0.9}
    fast, full = both(Case(wanted_post, limit, offers), Exclusions(), COMPASS)
    assert fast == full


def market(rng: random.Random, count: int) -> list[Offer]:
    """A market like the benchmark's: thousands of offers from a few hundred people, in a
    few instants (many equal scores)."""
    owners = [f"r{i}" for i in range(300)]
    out = []
    for i in range(count):
        created = rng.choice(CREATED)
        out.append(
            Offer(
                f"m{i:05d}",
                rng.choice(owners),
                rng.choice(CODES),
                rng.choice(HOODS),
                frozenset(rng.sample(range(7), rng.randint(0, 1))),
                created.timestamp(),
                (created + rng.choice(LIFETIMES)).timestamp(),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(6))
def test_a_market_of_thousands_ranks_like_ranking_everything(seed: int) -> None:
    rng = random.Random(seed)
    offers = market(rng, 3000)
    volunteers = [
        Helper(f"r{i}", rng.choice(HOODS), tuple(rng.sample(CODES, 2)), frozenset({i % 7}))
        for i in range(0, 300, 3)
    ]
    blocked = frozenset(f"r{i}" for i in rng.sample(range(300), 20))
    for wanted in rng.sample(CODES, 4):
        when = When(timing=Timing.RECURRING, weekdays=[rng.randrange(7)])
        kw: dict[str, Any] = {"category": wanted, "hood": rng.choice(HOODS), "when": when}
        for radius, limit in ((3.0, 20), (25.0, 50), (1.0, 5)):
            wanted_post = request(radius=radius, **kw)
            case = Case(wanted_post, limit, offers, volunteers)
            fast, full = both(case, Exclusions(blocked))
            assert fast == full and len(fast) == limit


def test_a_full_list_from_the_best_buckets_leaves_the_other_offers_unscored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scored: list[str] = []
    add_offer = matching._add_offer

    def counting(board: Any, bucket: Any, offer: Offer, at: Any) -> None:
        scored.append(offer.id)
        add_offer(board, bucket, offer, at)

    monkeypatch.setattr(matching, "_add_offer", counting)
    offers = market(random.Random(1), 3000)
    wanted_post = request(category="wandelen", hood="DM01", radius=3.0)
    fast, full = both(Case(wanted_post, 10, offers), Exclusions())
    assert fast == full
    own_bucket = [o for o in offers if (o.category, o.neighbourhood_code) == ("wandelen", "DM01")]
    # the request's own category in its own neighbourhood fills the list: nothing else is scored
    assert sorted(scored) == sorted(o.id for o in own_bucket)


class Sources:
    """What `candidate_sources` reads, served from lists; it notes which offers were read."""

    def __init__(
        self,
        offers: list[Offer],
        helpers: list[Helper],
        entries: list[MapEntry],
        blocks: frozenset[tuple[str, str]],
    ) -> None:
        self.offers, self.helpers, self.entries, self.blocks = offers, helpers, entries, blocks
        self.offer_reads: list[tuple[str, str]] = []
        self.helper_reads: list[list[str]] = []

    async def open_offers(self, codes: list[str], neighbourhood_code: str) -> list[Offer]:
        self.offer_reads += [(code, neighbourhood_code) for code in codes]
        return [
            o
            for o in self.offers
            if o.category in codes and o.neighbourhood_code == neighbourhood_code
        ]

    async def helpers_for(self, codes: list[str]) -> list[Helper]:
        self.helper_reads.append(codes)
        return [h for h in self.helpers if set(codes) & set(h.categories)]

    async def map_entries(self, codes: list[str]) -> list[MapEntry]:
        return [e for e in self.entries if set(codes) & set(e.categories)]

    async def family_candidates(
        self, codes: list[str], hoods: list[str]
    ) -> tuple[list[list[Offer]], list[Helper], list[MapEntry]]:
        offers = [await self.open_offers(codes, hood) for hood in hoods]
        return offers, await self.helpers_for(codes), await self.map_entries(codes)

    async def blocked_either_way(self, person_id: str) -> frozenset[str]:
        return frozenset(b if a == person_id else a for a, b in self.blocks if person_id in (a, b))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    case=cases((1.0, 3.0, 6.0), 12),
    blocked=st.frozensets(st.sampled_from(PERSONS), max_size=2),
    viewer=viewer_st.filter(lambda v: v is not None),
)
async def test_the_sources_read_all_that_ranking_everything_needs(
    case: Case, blocked: frozenset[str], viewer: Viewer
) -> None:
    """Tiers, and a later tier's offers read only where one could enter: the same list as
    ranking every candidate there is (what the tiers do not read fits not at all)."""
    market = (case.offers, case.volunteers, case.entries)
    sources = Sources(*market, frozenset(("piet", b) for b in blocked))
    read = await candidate_sources(
        sources,  # type: ignore[arg-type]
        case.request,
        viewer,
        TABLE,
        CATS,
        None,
        limit=case.limit,
    )
    exclusions = Exclusions(persons=blocked, viewer=viewer)
    assert read == rank_everything(case, exclusions)


async def test_a_later_tier_whose_offers_cannot_enter_is_not_read_for_offers() -> None:
    """As in the benchmark: requests in neighbourhoods without offers of their own, so the
    list's last candidate scores below what a 0.3 fit can reach at the door, and the second
    tier is read; but no offer of it can enter at the distance of any neighbourhood."""
    offers = [o for o in market(random.Random(2), 3000) if o.neighbourhood_code != "DM01"]
    sources = Sources(offers, [], [], frozenset())
    wanted_post = request(category="wandelen", hood="DM01", radius=3.0)
    viewer = Viewer("piet", neighbourhood_code="DM01")
    read = await candidate_sources(sources, wanted_post, viewer, TABLE, CATS, None, limit=20)  # type: ignore[arg-type]
    assert read == rank_everything(Case(wanted_post, 20, offers), Exclusions(viewer=viewer))
    own_family = CATS.members(CATS.family("wandelen"))
    assert len(sources.helper_reads) > 1  # the second tier was read
    assert {code for code, _ in sources.offer_reads} == set(own_family)
