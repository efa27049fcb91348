"""Candidates for a help request: open offers, volunteers who opted in, and fresh social-map
entries for the category (never stale or hidden ones), within the request's radius, ranked
by category fit, distance, availability, responsiveness and freshness with the platform's
one ranking (`wijkkracht_common.ranking`, shared with the social map's recommendations).

Nobody is shown an address: a candidate carries its neighbourhood and a distance band. The
request's owner, people they blocked or who blocked them, and volunteers without a valid
certificate of conduct (VOG) where the request's group requires one are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from wijkkracht_common.ranking import Ranked, Signals, map_freshness, rank

from marketplace.domain.categories import Categories
from marketplace.domain.places import (
    DistanceBand,
    Neighbourhood,
    NeighbourhoodTable,
    band_of,
)
from marketplace.domain.posts import PartOfDay, Post, Scope
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
        self._availability: dict[tuple[frozenset[int], frozenset[PartOfDay]], float] = {}

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

    def fit(self, categories: tuple[str, ...]) -> float:
        """The best fit of any of `categories` to the request's category."""
        best = 0.0
        for code in categories:
            fit = self._fits.get(code)
            if fit is None:
                fit = self._fits[code] = self.cats.fit(self.request.category, code)
            best = max(best, fit)
        return best

    def availability(self, volunteer: Helper) -> float:
        """How well the volunteer's days and parts of the day meet the request's."""
        key = (volunteer.weekdays, volunteer.parts_of_day)
        found = self._availability.get(key)
        if found is None:
            found = self._availability[key] = volunteer.availability_fit(self.request.when)
        return found


def _offer_signals(request: Post, offer: Offer, at: _From) -> tuple[Candidate, Signals] | None:
    place = at.place(offer.neighbourhood_code)
    if place is None:
        return None
    there, d, band = place
    if d > request.radius_km:
        return None
    fit = at.fit((offer.category,))
    days = request.when.weekdays_meant()
    offered = offer.weekdays
    availability = 0.5 if not days or not offered else (1.0 if days & offered else 0.0)
    # A newer offer (more of its lifetime left) is fresher.
    life = max(offer.expires_ts - offer.created_ts, 1.0)
    left = max(offer.expires_ts - request.created_at.timestamp(), 0.0)
    freshness = 0.5 + 0.5 * min(left / life, 1.0)
    candidate = Candidate(
        CandidateKind.OFFER,
        offer.id,
        offer.owner_id,
        offer.category,
        there.code,
        band,
        d,
    )
    signals = Signals(fit, d, request.radius_km, availability=availability, freshness=freshness)
    return candidate, signals


def _volunteer_signals(
    request: Post, volunteer: Helper, at: _From
) -> tuple[Candidate, Signals] | None:
    place = at.place(volunteer.neighbourhood_code)
    if place is None:
        return None
    there, d, band = place
    if d > max(request.radius_km, volunteer.radius_km):
        return None
    fit = at.fit(volunteer.categories)
    candidate = Candidate(
        CandidateKind.VOLUNTEER,
        volunteer.person_id,
        volunteer.person_id,
        request.category if request.category in volunteer.categories else volunteer.categories[0],
        there.code,
        band,
        d,
    )
    signals = Signals(
        fit,
        d,
        request.radius_km,
        availability=at.availability(volunteer),
        responsiveness=volunteer.responsiveness,
    )
    return candidate, signals


def _entry_signals(
    request: Post, entry: MapEntry, home: Neighbourhood, table: NeighbourhoodTable, cats: Categories
) -> tuple[Candidate, Signals] | None:
    freshness = map_freshness(entry.state)  # stale and hidden: never suggested
    if freshness is None or not entry.active:
        return None
    places = [n for n in (table.of_pc4(p) for p in entry.pc4s) if n is not None]
    if not places:
        return None
    there = min(places, key=lambda n: (table.distance(home, n), n.code))
    d = table.distance(home, there)
    if d > request.radius_km:
        return None
    fit = max((cats.fit(request.category, c) for c in entry.categories), default=0.0)
    band = band_of(home, there)
    best = max(entry.categories, key=lambda c: (cats.fit(request.category, c), c))
    candidate = Candidate(CandidateKind.MAP_ENTRY, entry.entry_id, None, best, there.code, band, d)
    return candidate, Signals(fit, d, request.radius_km, freshness=freshness)


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
    """Ranked candidates."""
    home = table.get(request.neighbourhood_code)
    if home is None:
        return []
    at = _From(request, home, table, categories)
    pairs: list[tuple[Candidate, Signals]] = []
    excluded = exclusions.persons | ({request.owner_id} if request.owner_id else set())
    for offer in offers:
        if offer.owner_id in excluded or offer.id == request.id:
            continue
        found = _offer_signals(request, offer, at)
        if found is not None:
            pairs.append(found)
    for volunteer in volunteers:
        if volunteer.person_id in excluded:
            continue
        if exclusions.vog_required and volunteer.person_id not in exclusions.vog_valid:
            continue
        found = _volunteer_signals(request, volunteer, at)
        if found is not None:
            pairs.append(found)
    for entry in entries:
        found = _entry_signals(request, entry, home, table, categories)
        if found is not None:
            pairs.append(found)
    by_candidate = {id(c): s for c, s in pairs}

    def key(c: Candidate) -> str:
        # No repeats: one suggestion per helping person, per social-map service.
        return f"person:{c.person_id}" if c.person_id else f"{c.kind}:{c.ref_id}"

    return rank(
        [c for c, _ in pairs],
        signals=lambda c: by_candidate[id(c)],
        key=key,
        tie=lambda c: f"{c.kind}:{c.ref_id}",
        limit=limit,
    )


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
