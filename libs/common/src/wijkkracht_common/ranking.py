"""One ranking of "what fits this person here", shared by the social map's recommendations
and the marketplace's matching. Pure and deterministic: no I/O, no service types.

Each caller turns a candidate into `Signals` (or None when it does not qualify: out of
reach, outside the person's age band, stale or hidden); `rank` scores them, keeps the best
item per `key` (no repeats of the same service or helper) and orders equal scores nearer
first, then by the caller's stable tie-break.

Weights (they sum to 1) and why:

- fit 0.40: what the person needs most decides first: the category asked for, or the
  person's lowest questionnaire dimension (`dimension_fit`).
- proximity 0.30: nearby is what gets used (the seeds: "in the neighbourhood", on foot);
  halves every third of the reach (`proximity`), so a walking group 215 m away clearly beats
  a vacancy bank at 0.78 km when both fit equally.
- audience 0.10: an offer meant for the person's part of life (55+ for a 66-year-old)
  is more often the one they look for than an offer for everyone (`audience_fit`); offers
  whose age band leaves the person out never qualify.
- availability 0.10 and responsiveness 0.05: a helper free when help is wanted and known
  to answer quickly (the marketplace; 0.5 where unknown, so they do not reorder).
- freshness 0.05: a fresh entry over one whose check is due; stale and hidden entries never
  qualify (`map_freshness`), a stale map is what the seeds complain about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

T = TypeVar("T")

WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "fit": 0.40,
        "proximity": 0.30,
        "audience": 0.10,
        "availability": 0.10,
        "responsiveness": 0.05,
        "freshness": 0.05,
    }
)
# the weights as plain floats: `score` runs for every candidate of every ranking
_FIT, _PROXIMITY, _AUDIENCE = WEIGHTS["fit"], WEIGHTS["proximity"], WEIGHTS["audience"]
_AVAILABILITY, _RESPONSIVENESS = WEIGHTS["availability"], WEIGHTS["responsiveness"]
_FRESHNESS = WEIGHTS["freshness"]
#: A signal nobody knows (availability, responsiveness, audience without an age).
NEUTRAL = 0.5
#: Online-only offers: reachable from anywhere, but not "nearby".
ONLINE_PROXIMITY = 0.5
#: The lowest focus dimension weighs 1, the second lowest 0.6.
FOCUS_WEIGHTS = (1.0, 0.6)
#: An offer's side dimension (not its main one) counts for this share of the focus weight.
SIDE_DIMENSION = 0.8
#: Social-map freshness states that may be suggested, and what each is worth.
MAP_FRESHNESS: Mapping[str, float] = MappingProxyType({"fresh": 1.0, "due": 0.8})
#: From this age on everyone is an adult: an age band that only says "adults" (16+, 18+)
#: is an offer for everyone, not one aimed at the person's part of life.
ADULT_AGE = 18


def proximity(distance_km: float | None, reach_km: float) -> float:
    """0..1, 1 at the door: halves every third of the reach (at least every 0.5 km);
    strictly decreasing, so nearer never scores lower. None: online only."""
    if distance_km is None:
        return ONLINE_PROXIMITY
    return float(0.5 ** (max(distance_km, 0.0) / max(reach_km / 3.0, 0.5)))


def dimension_fit(focus: Sequence[str], offered: Sequence[str]) -> float:
    """Fit to the person's lowest dimensions (`focus`, lowest first) of an offer serving
    `offered` (its main dimension first): the best focus weight it serves, times
    SIDE_DIMENSION when that is not the offer's main dimension. Serving more of the focus
    adds nothing: a vacancy bank serving meaningfulness and participation must not outrank
    a walking group nearby for someone whose lowest score is participation; and a parenting
    consultation (mainly mental wellbeing) is not what an 85-year-old low on daily
    functioning looks for first."""
    best = 0.0
    for dimension, weight in zip(focus, FOCUS_WEIGHTS, strict=False):
        if dimension in offered:
            main = offered[0] == dimension
            best = max(best, weight if main else weight * SIDE_DIMENSION)
    return best


def audience_fit(age: int | None, minimum_age: int | None, maximum_age: int | None) -> float | None:
    """1 for an age band aimed at a part of life that includes `age`, 0.5 for an offer for
    everyone (or an unknown age), None when the band leaves the person out."""
    if age is None:
        return NEUTRAL
    lo = minimum_age if minimum_age is not None else 0
    hi = maximum_age if maximum_age is not None else 200
    if not lo <= age <= hi:
        return None
    aimed = lo > ADULT_AGE or maximum_age is not None
    return 1.0 if aimed else NEUTRAL


def map_freshness(state: str) -> float | None:
    """The freshness signal of a social-map entry in `state`; None: never suggested."""
    return MAP_FRESHNESS.get(state)


@dataclass(frozen=True, slots=True)
class Signals:
    """What the ranking knows of one candidate; each signal 0..1 (1 best).

    `distance_km` None means online only; `reach_km` is the search radius (scale of the
    proximity decay, not a filter: callers leave out what is out of reach)."""

    fit: float
    distance_km: float | None
    reach_km: float
    audience: float = NEUTRAL
    availability: float = NEUTRAL
    responsiveness: float = NEUTRAL
    freshness: float = 1.0

    @property
    def proximity(self) -> float:
        return proximity(self.distance_km, self.reach_km)

    def score(self) -> float:
        return weighted_score(
            self.fit,
            self.proximity,
            self.audience,
            self.availability,
            self.responsiveness,
            self.freshness,
        )

    def qualifies(self) -> bool:
        """Ranked at all: some fit and some freshness."""
        return self.fit > 0.0 and self.freshness > 0.0


def weighted_score(
    fit: float,
    proximity: float,
    audience: float,
    availability: float,
    responsiveness: float,
    freshness: float,
) -> float:
    """`Signals.score` from the signals themselves, for callers that score many candidates
    sharing most signals without building `Signals` for each. Non-decreasing in every
    signal (each weighted term and each float addition, then the rounding, are), so the
    score of a group's best possible signals bounds the score of each of its members."""
    return round(
        _FIT * fit
        + _PROXIMITY * proximity
        + _AUDIENCE * audience
        + _AVAILABILITY * availability
        + _RESPONSIVENESS * responsiveness
        + _FRESHNESS * freshness,
        9,
    )


def best_possible(fit: float) -> float:
    """The highest score an item of this fit can reach (every other signal 1)."""
    return WEIGHTS["fit"] * fit + sum(v for k, v in WEIGHTS.items() if k != "fit")


@dataclass(frozen=True, slots=True)
class Ranked(Generic[T]):
    item: T
    signals: Signals
    score: float


#: How ranked items order, lowest first: (-score, distance, tie-break).
Order = tuple[float, float, str]
_ONLINE_KM = float("inf")


def order_key(score: float, distance_km: float | None, tie: str) -> Order:
    """Higher scores first; equal scores nearer first (online last), then `tie`."""
    return (-score, distance_km if distance_km is not None else _ONLINE_KM, tie)


def rank(
    items: Iterable[T],
    *,
    signals: Callable[[T], Signals | None],
    key: Callable[[T], str],
    tie: Callable[[T], str],
    limit: int = 20,
    fill_with_repeats: bool = False,
) -> list[Ranked[T]]:
    """The best `limit` items, best first. An item qualifies when `signals` gives Signals
    with some fit and some freshness; equal scores: nearer first (online last), then `tie`.

    No repeats: one item per `key` (the best of them). With `fill_with_repeats`, the others
    of a key may follow once no item of a new key is left, so a short list is not cut
    shorter (a second group of the same name elsewhere, when nothing else is in reach)."""
    if limit <= 0:
        return []
    scored: list[Ranked[T]] = []
    for item in items:
        s = signals(item)
        if s is None or not s.qualifies():
            continue
        scored.append(Ranked(item, s, s.score()))
    scored.sort(key=lambda r: order_key(r.score, r.signals.distance_km, tie(r.item)))
    seen: set[str] = set()
    out: list[Ranked[T]] = []
    repeats: list[Ranked[T]] = []
    for ranked in scored:
        k = key(ranked.item)
        if k in seen:
            repeats.append(ranked)
            continue
        seen.add(k)
        out.append(ranked)
        if len(out) == limit:
            return out
    if fill_with_repeats:
        out += repeats[: limit - len(out)]
    return out


class Leaderboard(Generic[T]):
    """What `rank` keeps, built from items given one at a time in any order: the best
    `limit` items by `order_key`, one per key (its best item), without sorting everything.

    A caller that scores its items in groups asks `admits` before building an item, or
    before scoring a group with the best order any member of it can reach: an order that
    is not admitted can change nothing, now or later (the board only gets better). Equal
    orders keep the item given first, like the stable sort in `rank`."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._held: dict[str, tuple[Order, int, T]] = {}
        self._given = 0
        #: The worst order held once `limit` keys are held: what a newcomer must beat.
        self._bar: Order | None = None

    def admits(self, order: Order) -> bool:
        return self._limit > 0 and (self._bar is None or order < self._bar)

    def add(self, key: str, order: Order, item: T) -> None:
        if not self.admits(order):
            return
        held = self._held.get(key)
        if held is not None and held[0] <= order:
            return
        self._given += 1
        self._held[key] = (order, self._given, item)
        if held is None and len(self._held) > self._limit:
            del self._held[max(self._held, key=lambda k: self._held[k][:2])]
        if len(self._held) == self._limit:
            self._bar = max(h[0] for h in self._held.values())

    def ranked(self) -> list[T]:
        """The items held, best first."""
        return [h[2] for h in sorted(self._held.values(), key=lambda h: h[:2])]
