"""Which entries belong to a neighbourhood: any location whose postcode's PC4 is in it."""

from __future__ import annotations

from collections.abc import Iterable

from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Entry


def entries_in(neighbourhood: Neighbourhood, entries: Iterable[Entry]) -> list[Entry]:
    pc4s = set(neighbourhood.pc4)
    return [
        e
        for e in entries
        if any(loc.address is not None and loc.address.pc4 in pc4s for loc in e.locations)
    ]
