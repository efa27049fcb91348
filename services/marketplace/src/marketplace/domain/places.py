"""Where a post is: the poster's neighbourhood (its centroid, never an address) and a radius.

Residents are placed at their neighbourhood's centroid only, so a distance between two people
is a distance between neighbourhoods, and it is shown as a band ("in your neighbourhood",
"within 1 km", ...), never as a number that could hint at an address.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from marketplace.domain.errors import DomainValidationError

EARTH_RADIUS_KM = 6371.0088
MIN_RADIUS_KM = 0.5
MAX_RADIUS_KM = 25.0
DEFAULT_RADIUS_KM = 3.0


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """Identity's neighbourhood table, as projected here (public reference data)."""

    code: str
    name: str
    lat: float
    lon: float
    pc4s: tuple[str, ...] = ()


def distance_km(a: Neighbourhood, b: Neighbourhood) -> float:
    """Great-circle distance between two centroids (0 for the same neighbourhood)."""
    if a.code == b.code:
        return 0.0
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


class DistanceBand(StrEnum):
    SAME_NEIGHBOURHOOD = "same_neighbourhood"
    WITHIN_1_KM = "within_1_km"
    WITHIN_3_KM = "within_3_km"
    WITHIN_5_KM = "within_5_km"
    WITHIN_10_KM = "within_10_km"
    FURTHER = "further"


#: Upper bounds of the bands (km). Bands are what people see; matching ranks by distance
#: (`wijkkracht_common.ranking.proximity`).
_BANDS: tuple[tuple[DistanceBand, float], ...] = (
    (DistanceBand.WITHIN_1_KM, 1.0),
    (DistanceBand.WITHIN_3_KM, 3.0),
    (DistanceBand.WITHIN_5_KM, 5.0),
    (DistanceBand.WITHIN_10_KM, 10.0),
)

BAND_LABELS: dict[DistanceBand, tuple[str, str]] = {
    DistanceBand.SAME_NEIGHBOURHOOD: ("in uw wijk", "in your neighbourhood"),
    DistanceBand.WITHIN_1_KM: ("binnen 1 km", "within 1 km"),
    DistanceBand.WITHIN_3_KM: ("binnen 3 km", "within 3 km"),
    DistanceBand.WITHIN_5_KM: ("binnen 5 km", "within 5 km"),
    DistanceBand.WITHIN_10_KM: ("binnen 10 km", "within 10 km"),
    DistanceBand.FURTHER: ("verder weg", "further away"),
}


def band_of(a: Neighbourhood, b: Neighbourhood) -> DistanceBand:
    if a.code == b.code:
        return DistanceBand.SAME_NEIGHBOURHOOD
    d = distance_km(a, b)
    for band, limit in _BANDS:
        if d <= limit:
            return band
    return DistanceBand.FURTHER


def validate_radius(radius_km: float, field: str = "radius_km") -> float:
    if not (math.isfinite(radius_km) and MIN_RADIUS_KM <= radius_km <= MAX_RADIUS_KM):
        raise DomainValidationError.single(
            field, f"radius must be between {MIN_RADIUS_KM} and {MAX_RADIUS_KM} km"
        )
    return float(radius_km)


def within(a: Neighbourhood, b: Neighbourhood, radius_km: float) -> bool:
    return distance_km(a, b) <= radius_km


class NeighbourhoodTable:
    """The tenant's table, looked up by code and by PC4."""

    def __init__(self, rows: list[Neighbourhood]) -> None:
        self._by_code = {n.code: n for n in rows}
        self._by_pc4 = {pc4: n for n in rows for pc4 in n.pc4s}
        self._distances: dict[tuple[str, str], float] = {}

    def distance(self, a: Neighbourhood, b: Neighbourhood) -> float:
        """`distance_km`, remembered per pair (a tenant has tens of neighbourhoods; matching
        asks for the same pairs thousands of times)."""
        key = (a.code, b.code)
        d = self._distances.get(key)
        if d is None:
            d = self._distances[key] = distance_km(a, b)
        return d

    def __len__(self) -> int:
        return len(self._by_code)

    @property
    def codes(self) -> list[str]:
        return sorted(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str | None) -> Neighbourhood | None:
        return None if code is None else self._by_code.get(code)

    def of_pc4(self, pc4: str | None) -> Neighbourhood | None:
        return None if pc4 is None else self._by_pc4.get(pc4)

    @property
    def rows(self) -> list[Neighbourhood]:
        return sorted(self._by_code.values(), key=lambda n: n.code)

    def near(self, centre: Neighbourhood, radius_km: float) -> list[Neighbourhood]:
        """Neighbourhoods whose centroid lies within `radius_km` of `centre`'s (itself too)."""
        return [n for n in self.rows if within(centre, n, radius_km)]
