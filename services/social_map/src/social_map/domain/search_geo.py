"""The ~1 km grid of the search index and what a query needs to know about its cells.

A cell is (floor(lat / CELL_LAT), floor(lon / CELL_LON)). For a query circle a cell is
*inside* when every point it can hold is within the radius (and the bounding box), so its
entries are hits without a distance computation; any other cell of the box is checked entry
by entry. `CellShape.lower_bound` gives the least distance of any point of the cell to the
centre, which bounds the distance score of its entries when only the best page is scored.

Both tests use the triangle inequality (haversine is a metric) around the cell's middle, with
a margin far above float error, so they never misjudge a point near the circle's edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from social_map.domain.geo import EARTH_RADIUS_KM, BoundingBox

#: Grid cell size in degrees: ~0.5 km each way at Dutch latitudes (finer cells leave fewer
#: entries near the circle's edge to check one by one; measured against 1 km and 0.33 km).
CELL_LAT = 0.0045
CELL_LON = 0.0075
#: a point may sit this far (degrees) outside its cell's nominal edges through float rounding
_EDGE_DEG = 1e-9
#: km; haversine's float error is ~1e-12 km at these distances
_MARGIN_KM = 1e-6

Cell = tuple[int, int]


def cell_of(lat: float, lon: float) -> Cell:
    return (math.floor(lat / CELL_LAT), math.floor(lon / CELL_LON))


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The same operations as `geo.haversine_km` (bit-identical distances, so identical ties)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class CellShape:
    """A cell's extent (widened by the rounding slack) and the circle around its middle."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float
    mid_lat: float
    mid_lon: float
    reach_km: float  # farthest corner from the middle: every point of the cell is within it

    @classmethod
    def of(cls, cell: Cell) -> CellShape:
        ca, co = cell
        lat0, lat1 = ca * CELL_LAT - _EDGE_DEG, (ca + 1) * CELL_LAT + _EDGE_DEG
        lon0, lon1 = co * CELL_LON - _EDGE_DEG, (co + 1) * CELL_LON + _EDGE_DEG
        mid_lat, mid_lon = (lat0 + lat1) / 2, (lon0 + lon1) / 2
        # on a cell this small the distance from the middle peaks at a corner
        reach = max(
            haversine(mid_lat, mid_lon, lat, lon) for lat in (lat0, lat1) for lon in (lon0, lon1)
        )
        return cls(lat0, lat1, lon0, lon1, mid_lat, mid_lon, reach + _MARGIN_KM)

    def inside(self, lat: float, lon: float, radius_km: float, box: BoundingBox) -> bool:
        """Every point of the cell is within the box and within `radius_km` of (lat, lon)."""
        if not (
            box.min_lat <= self.min_lat
            and self.max_lat <= box.max_lat
            and box.min_lon <= self.min_lon
            and self.max_lon <= box.max_lon
        ):
            return False
        return haversine(lat, lon, self.mid_lat, self.mid_lon) + self.reach_km <= (
            radius_km - _MARGIN_KM
        )

    def lower_bound(self, lat: float, lon: float) -> float:
        """No point of the cell is nearer to (lat, lon) than this (km)."""
        return max(0.0, haversine(lat, lon, self.mid_lat, self.mid_lon) - self.reach_km)
