"""PC4 → neighbourhood centroid for search, cached per tenant database.

A search by postcode needed one database read for its centre. The neighbourhood table
(identity's projection) changes rarely, so a centroid found is kept for `ttl` seconds (the
search refresh window: another replica's import shows within it, like its entry writes);
this process's own import (`projections.on_neighbourhoods`) drops the tenant's centroids at
once. Misses are not cached: a postcode that appears is found by the next search.
"""

from __future__ import annotations

import time

from social_map.adapters.repositories import Repository
from social_map.domain.geo import GeoPoint


class CentroidCache:
    def __init__(self, ttl_seconds: float, size: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._size = size
        self._items: dict[str, dict[str, tuple[float, GeoPoint]]] = {}  # db → pc4 → (at, c)
        self._generation: dict[str, int] = {}  # bumped by `drop`: a read begun before is stale

    async def get(self, reader: Repository, pc4: str) -> GeoPoint | None:
        name = reader.name
        found = self._items.get(name, {}).get(pc4)
        if found is not None and time.monotonic() - found[0] < self._ttl:
            return found[1]
        generation = self._generation.get(name, 0)
        read_at = time.monotonic()
        hood = await reader.neighbourhood_of_pc4(pc4)
        if hood is None or generation != self._generation.get(name, 0):
            return None if hood is None else hood.centroid
        items = self._items.setdefault(name, {})
        if len(items) >= self._size:
            items.clear()
        items[pc4] = (read_at, hood.centroid)
        return hood.centroid

    def drop(self, db_name: str) -> None:
        """The tenant's neighbourhood table changed in this process."""
        self._items.pop(db_name, None)
        self._generation[db_name] = self._generation.get(db_name, 0) + 1
