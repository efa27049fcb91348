"""One ranking of "what fits this person here": category (or dimension) fit, distance band,
availability, responsiveness and freshness, with no repeats of the same provider.

Written to be shared with the social map's recommendations (which today rank a far vacancy
bank above a walking group nearby and repeat the same names): pure, deterministic, no I/O,
no marketplace types. Each caller turns its candidates into `Signals`; `rank` orders them,
drops repeats of the same `key` (a person, a social-map service, an organisation) keeping the
best, and breaks ties by distance, then by a stable tie-break.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

WEIGHTS = {
    "fit": 0.35,
    "distance": 0.30,
    "availability": 0.15,
    "responsiveness": 0.10,
    "freshness": 0.10,
}


@dataclass(frozen=True, slots=True)
class Signals:
    """Each 0..1 (1 best). `distance_km` only orders ties (nearer first)."""

    fit: float
    distance: float
    distance_km: float
    availability: float = 0.5
    responsiveness: float = 0.5
    freshness: float = 1.0

    def score(self) -> float:
        return round(
            WEIGHTS["fit"] * self.fit
            + WEIGHTS["distance"] * self.distance
            + WEIGHTS["availability"] * self.availability
            + WEIGHTS["responsiveness"] * self.responsiveness
            + WEIGHTS["freshness"] * self.freshness,
            9,
        )


@dataclass(frozen=True, slots=True)
class Ranked(Generic[T]):
    item: T
    signals: Signals
    score: float


def rank(
    items: Iterable[T],
    *,
    signals: Callable[[T], Signals | None],
    key: Callable[[T], str],
    tie: Callable[[T], str],
    limit: int = 20,
) -> list[Ranked[T]]:
    """The best `limit` items, best first; `signals` returns None for an item that does not
    qualify (no fit, out of reach). One item per `key`."""
    scored: list[Ranked[T]] = []
    for item in items:
        s = signals(item)
        if s is None or s.fit <= 0.0:
            continue
        scored.append(Ranked(item, s, s.score()))
    scored.sort(key=lambda r: (-r.score, r.signals.distance_km, tie(r.item)))
    seen: set[str] = set()
    out: list[Ranked[T]] = []
    for ranked in scored:
        k = key(ranked.item)
        if k in seen:
            continue
        seen.add(k)
        out.append(ranked)
        if len(out) == limit:
            break
    return out
