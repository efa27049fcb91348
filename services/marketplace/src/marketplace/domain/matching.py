"""Candidates for a help request: open offers, volunteers who opted in, and fresh social-map
entries for the category (never stale or hidden ones), within the request's radius, ranked
by category fit, distance, availability, responsiveness and freshness with the platform's
one ranking (`wijkkracht_common.ranking`, shared with the social map's recommendations).

Nobody is shown an address: a candidate carries its neighbourhood and a distance band. The
request's owner, people they blocked or who blocked them, and volunteers without a valid
certificate of conduct (VOG) where the request's group requires one are left out, and so
are offers under review or outside what the requester may see.

A request can have tens of thousands of open offers in reach. `Matching` gives the list
ranking all of them would give, but scores offers a bucket (a category in a neighbourhood)
at a time, best bucket first, and stops where no offer left could enter the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from enum import StrEnum

from wijkkracht_common.ranking import (
    Leaderboard,
    Order,
    Ranked,
    Signals,
    map_freshness,
    order_key,
    proximity,
    weighted_score,
)

from marketplace.domain.categories import Categories
from marketplace.domain.places import (
    DistanceBand,
    Neighbourhood,
    NeighbourhoodTable,
    band_of,
)
from marketplace.domain.posts import PartOfDay, Post, Scope
from marketplace.domain.visibility import Viewer, scope_allows
from marketplace.domain.volunteers import Helper


class CandidateKind(StrEnum):
    OFFER = "offer"
    VOLUNTEER = "volunteer"
    MAP_ENTRY = "map_entry"


@dataclass(frozen=True, slots=True)
class MapEntry:
    """The social map's entry as the marketplace projects it (ids, categories, places)."""

    entry_id: str
    organization_id: str
    owner_organisation: str | None
    kind: str
    categories: tuple[str, ...]
    pc4s: tuple[str, ...]
    state: str
    active: bool = True
    #: The social map's revision of the entry, and when its freshness state was set (epoch):
    #: late events never undo newer ones.
    revision: int = 0
    state_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Offer:
    """An open offer as matching reads it (no text)."""

    id: str
    owner_id: str | None
    category: str
    neighbourhood_code: str
    weekdays: frozenset[int]
    created_ts: float
    expires_ts: float
    scope: Scope = Scope.TENANT
    group_id: str | None = None
    under_review: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: CandidateKind
    ref_id: str  # offer post id, volunteer person id, or social-map entry id
    person_id: str | None  # who would help (None for an organisation)
    category: str
    neighbourhood_code: str
    band: DistanceBand
    distance_km: float


@dataclass(frozen=True)
class Exclusions:
    persons: frozenset[str] = frozenset()
    #: Volunteers whose VOG must be valid (the request's group requires it), with those valid.
    vog_required: bool = False
    vog_valid: frozenset[str] = frozenset()
    #: Who asks: offers outside what this viewer may see (their scope) are left out; None
    #: leaves that check out. Offers under review are never suggested.
    viewer: Viewer | None = None


class _From:
    """Where candidates stand from one request: distance and band per neighbourhood and fit
    per category, each worked out once per ranking (a request ranks hundreds of
    candidates from tens of neighbourhoods and categories)."""

    def __init__(
        self, request: Post, home: Neighbourhood, table: NeighbourhoodTable, cats: Categories
    ) -> None:
        self.request, self.home, self.table, self.cats = request, home, table, cats
        self._places: dict[str, tuple[Neighbourhood, float, DistanceBand] | None] = {}
        self._fits: dict[str, float] = {}
        self._proximity: dict[float, float] = {}
        self._nearest: dict[tuple[str, ...], tuple[Neighbourhood, float, DistanceBand] | None] = {}
        self._availability: dict[tuple[frozenset[int], frozenset[PartOfDay]], float] = {}
        self._days = request.when.weekdays_meant()
        self._at_ts = request.created_at.timestamp()

    def place(self, code: str | None) -> tuple[Neighbourhood, float, DistanceBand] | None:
        """The neighbourhood `code`, its distance and band; None when unknown."""
        if code is None:
            return None
        if code not in self._places:
            there = self.table.get(code)
            self._places[code] = (
                None
                if there is None
                else (there, self.table.distance(self.home, there), band_of(self.home, there))
            )
        return self._places[code]

    def nearest(self, pc4s: tuple[str, ...]) -> tuple[Neighbourhood, float, DistanceBand] | None:
        """The nearest neighbourhood of these postcodes (equally near: the first code), its
        distance and band; None when none is known."""
        if pc4s not in self._nearest:
            known = [n for n in (self.table.of_pc4(p) for p in pc4s) if n is not None]
            there = min(
                known, key=lambda n: (self.table.distance(self.home, n), n.code), default=None
            )
            self._nearest[pc4s] = None if there is None else self.place(there.code)
        return self._nearest[pc4s]

    def fit(self, categories: tuple[str, ...]) -> float:
        """The best fit of any of `categories` to the request's category."""
        best = 0.0
        for code in categories:
            fit = self._fits.get(code)
            if fit is None:
                fit = self._fits[code] = self.cats.fit(self.request.category, code)
            best = max(best, fit)
        return best

    def proximity(self, distance_km: float) -> float:
        """The ranking's proximity at that distance within the request's radius."""
        found = self._proximity.get(distance_km)
        if found is None:
            found = self._proximity[distance_km] = proximity(distance_km, self.request.radius_km)
        return found

    def offer_availability(self, offer: Offer) -> float:
        """1 when the offer's days meet the request's, 0 when not, 0.5 when either is any day."""
        days, offered = self._days, offer.weekdays
        return 0.5 if not days or not offered else (1.0 if days & offered else 0.0)

    def offer_freshness(self, offer: Offer) -> float:
        """A newer offer (more of its lifetime left when the request was made) is fresher."""
        life = max(offer.expires_ts - offer.created_ts, 1.0)
        left = max(offer.expires_ts - self._at_ts, 0.0)
        return 0.5 + 0.5 * min(left / life, 1.0)

    def availability(self, volunteer: Helper) -> float:
        """How well the volunteer's days and parts of the day meet the request's."""
        key = (volunteer.weekdays, volunteer.parts_of_day)
        found = self._availability.get(key)
        if found is None:
            found = self._availability[key] = volunteer.availability_fit(self.request.when)
        return found


class Matching:
    """The candidates for one request, given in parts (the sources read a tier at a time):
    `ranked()` is at any time what `rank` gives over every candidate given so far (no
    repeats: one per helping person, per social-map entry), worked out without scoring
    every open offer.

    Every candidate of a part is scored, but its `Candidate` is built only when it can
    enter the list. Offers are scored by bucket (one category in one neighbourhood,
    `_Bucket`), best bucket first, until no offer of the next bucket could enter the list
    any more; since the list only gets better, such offers never could, in a later part
    either. `could_use` and `could_use_offers` tell the sources what is still worth reading.
    """

    def __init__(
        self,
        request: Post,
        *,
        table: NeighbourhoodTable,
        categories: Categories,
        exclusions: Exclusions = Exclusions(),
        limit: int = 20,
    ) -> None:
        self._request, self._exclusions = request, exclusions
        self._excluded = exclusions.persons | ({request.owner_id} if request.owner_id else set())
        self._board: Leaderboard[Ranked[Candidate]] = Leaderboard(limit)
        home = table.get(request.neighbourhood_code)
        self._at = None if home is None else _From(request, home, table, categories)
        #: The ranking's signals where nothing is known: what a candidate's score counts for
        #: the signals its kind does not have (scored before its `Signals` is built).
        self._unknown = Signals(0.0, None, request.radius_km)

    def add(
        self,
        *,
        offers: Iterable[Offer] = (),
        volunteers: Iterable[Helper] = (),
        entries: Iterable[MapEntry] = (),
    ) -> None:
        at = self._at
        if at is None:
            return  # the request's neighbourhood is unknown: nobody is in reach
        for volunteer in volunteers:
            if self._volunteer_allowed(volunteer):
                self._add_volunteer(volunteer, at)
        for entry in entries:
            self._add_entry(entry, at)
        viewer = self._exclusions.viewer
        for bucket in _buckets(offers, at):
            if not self._board.admits(bucket.best_order):
                break  # buckets come best first: no later offer can enter either
            for offer in bucket.offers:
                if not _left_out(offer, self._request, self._excluded, viewer):
                    _add_offer(self._board, bucket, offer, at)

    def ranked(self) -> list[Ranked[Candidate]]:
        return self._board.ranked()

    def could_use(self, fit: float) -> bool:
        """Whether a candidate fitting at most `fit` could still enter the list: at the
        door, available, responsive and fresh (no candidate here has an audience signal:
        each counts the ranking's unknown one)."""
        if self._at is None:
            return False
        unknown = self._unknown
        best = weighted_score(fit, 1.0, unknown.audience, 1.0, 1.0, 1.0)
        return self._board.admits(order_key(best, 0.0, ""))

    def could_use_offers(self, codes: Iterable[str], neighbourhood_code: str) -> bool:
        """Whether an open offer in any of these categories in that neighbourhood could
        still enter the list."""
        at = self._at
        place = None if at is None else at.place(neighbourhood_code)
        if at is None or place is None or place[1] > self._request.radius_km:
            return False
        buckets = (_bucket(code, place, [], at) for code in codes)
        return any(b.best.qualifies() and self._board.admits(b.best_order) for b in buckets)

    def _volunteer_allowed(self, volunteer: Helper) -> bool:
        if volunteer.person_id in self._excluded:
            return False
        exclusions = self._exclusions
        return not exclusions.vog_required or volunteer.person_id in exclusions.vog_valid

    def _add_volunteer(self, volunteer: Helper, at: _From) -> None:
        request = self._request
        place = at.place(volunteer.neighbourhood_code)
        if place is None or place[1] > max(request.radius_km, volunteer.radius_km):
            return
        there, d, band = place
        fit, availability = at.fit(volunteer.categories), at.availability(volunteer)
        responsiveness, unknown = volunteer.responsiveness, self._unknown
        score = weighted_score(
            fit, at.proximity(d), unknown.audience, availability, responsiveness, unknown.freshness
        )
        order = order_key(score, d, _tie(CandidateKind.VOLUNTEER, volunteer.person_id))
        if not self._board.admits(order):
            return
        reach = request.radius_km
        signals = Signals(fit, d, reach, availability=availability, responsiveness=responsiveness)
        categories = volunteer.categories
        shown = request.category if request.category in categories else categories[0]
        person = volunteer.person_id
        candidate = Candidate(CandidateKind.VOLUNTEER, person, person, shown, there.code, band, d)
        self._admit(candidate, signals, score, order)

    def _add_entry(self, entry: MapEntry, at: _From) -> None:
        freshness = map_freshness(entry.state)  # stale and hidden: never suggested
        if freshness is None or not entry.active:
            return
        place = at.nearest(entry.pc4s)
        if place is None or place[1] > self._request.radius_km:
            return
        there, d, band = place
        fit, unknown = at.fit(entry.categories), self._unknown
        score = weighted_score(
            fit,
            at.proximity(d),
            unknown.audience,
            unknown.availability,
            unknown.responsiveness,
            freshness,
        )
        order = order_key(score, d, _tie(CandidateKind.MAP_ENTRY, entry.entry_id))
        if not self._board.admits(order):
            return
        signals = Signals(fit, d, self._request.radius_km, freshness=freshness)
        shown = max(entry.categories, key=lambda c: (at.fit((c,)), c))
        ref = entry.entry_id
        candidate = Candidate(CandidateKind.MAP_ENTRY, ref, None, shown, there.code, band, d)
        self._admit(candidate, signals, score, order)

    def _admit(self, candidate: Candidate, signals: Signals, score: float, order: Order) -> None:
        if signals.qualifies():
            key = _key(candidate.kind, candidate.ref_id, candidate.person_id)
            self._board.add(key, order, Ranked(candidate, signals, score))


def candidates_for(
    request: Post,
    *,
    offers: Iterable[Offer],
    volunteers: Iterable[Helper],
    entries: Iterable[MapEntry],
    table: NeighbourhoodTable,
    categories: Categories,
    exclusions: Exclusions = Exclusions(),
    limit: int = 20,
) -> list[Ranked[Candidate]]:
    """Ranked candidates: `Matching` given everything at once."""
    matching = Matching(
        request, table=table, categories=categories, exclusions=exclusions, limit=limit
    )
    matching.add(offers=offers, volunteers=volunteers, entries=entries)
    return matching.ranked()


def _key(kind: CandidateKind, ref_id: str, person_id: str | None) -> str:
    # No repeats: one suggestion per helping person, per social-map service.
    return f"person:{person_id}" if person_id else f"{kind}:{ref_id}"


def _tie(kind: CandidateKind, ref_id: str) -> str:
    return f"{kind}:{ref_id}"


@dataclass(frozen=True, slots=True)
class _Bucket:
    """Open offers of one category in one neighbourhood: fit and distance are the same
    for all of them, so the best order any of them can reach is known before scoring one
    (`best`: their signals with availability and freshness at their highest)."""

    category: str
    there: Neighbourhood
    distance_km: float
    band: DistanceBand
    best: Signals
    offers: list[Offer]
    #: Worked out once per bucket, not per offer.
    proximity: float
    #: No offer of the bucket orders before this ("" sorts before every tie-break).
    best_order: Order


def _bucket(
    category: str, place: tuple[Neighbourhood, float, DistanceBand], offers: list[Offer], at: _From
) -> _Bucket:
    there, d, band = place
    best = Signals(at.fit((category,)), d, at.request.radius_km, availability=1.0, freshness=1.0)
    best_order = order_key(best.score(), d, "")
    return _Bucket(category, there, d, band, best, offers, at.proximity(d), best_order)


def _buckets(offers: Iterable[Offer], at: _From) -> list[_Bucket]:
    """The buckets within the request's reach whose category fits it, best first."""
    grouped: dict[tuple[str, str], list[Offer]] = {}
    for offer in offers:
        grouped.setdefault((offer.category, offer.neighbourhood_code), []).append(offer)
    buckets = []
    for (category, code), members in grouped.items():
        place = at.place(code)
        if place is None or place[1] > at.request.radius_km:
            continue
        bucket = _bucket(category, place, members, at)
        if bucket.best.qualifies():
            buckets.append(bucket)
    buckets.sort(key=lambda b: (b.best_order, b.category, b.there.code))
    return buckets


def _left_out(offer: Offer, request: Post, excluded: Set[str], viewer: Viewer | None) -> bool:
    """The request's own offer, its owner's, a blocked person's, one under review, or one
    outside what the requester may see."""
    return (
        offer.owner_id in excluded
        or offer.id == request.id
        or offer.under_review
        or (
            viewer is not None
            and not scope_allows(offer.scope, offer.group_id, offer.neighbourhood_code, viewer)
        )
    )


def _add_offer(
    board: Leaderboard[Ranked[Candidate]], bucket: _Bucket, offer: Offer, at: _From
) -> None:
    """Scores the offer from its bucket's shared signals; builds its signals and candidate
    only when it can enter the list."""
    best = bucket.best
    availability, freshness = at.offer_availability(offer), at.offer_freshness(offer)
    score = weighted_score(
        best.fit, bucket.proximity, best.audience, availability, best.responsiveness, freshness
    )
    order = order_key(score, bucket.distance_km, _tie(CandidateKind.OFFER, offer.id))
    if not board.admits(order):
        return
    candidate = Candidate(
        CandidateKind.OFFER,
        offer.id,
        offer.owner_id,
        offer.category,
        bucket.there.code,
        bucket.band,
        bucket.distance_km,
    )
    signals = Signals(
        best.fit, bucket.distance_km, best.reach_km, availability=availability, freshness=freshness
    )
    key = _key(CandidateKind.OFFER, offer.id, offer.owner_id)
    board.add(key, order, Ranked(candidate, signals, score))


def nearby_volunteers(
    request: Post,
    volunteers: Iterable[Helper],
    *,
    table: NeighbourhoodTable,
    categories: Categories,
    exclusions: Exclusions = Exclusions(),
    limit: int = 50,
) -> list[Ranked[Candidate]]:
    """The volunteers to tell about a new request (the same ranking, volunteers only)."""
    return candidates_for(
        request,
        offers=(),
        volunteers=volunteers,
        entries=(),
        table=table,
        categories=categories,
        exclusions=exclusions,
        limit=limit,
    )
