"""Geo without a geo index: haversine distance and a lat/lon bounding box for the pre-filter.

The adapter queries `{"lat": {"$gte": box.min_lat, "$lte": box.max_lat},
"lon": {"$gte": box.min_lon, "$lte": box.max_lon}}` on an index, then computes exact
distances here and drops candidates outside the circle (box corners).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from social_map.domain.errors import DomainValidationError, FieldError

EARTH_RADIUS_KM = 6371.0088
MIN_RADIUS_KM = 0.1
MAX_RADIUS_KM = 50.0


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        errors = []
        if not (
            isinstance(self.lat, int | float) and math.isfinite(self.lat) and -90 <= self.lat <= 90
        ):
            errors.append(FieldError("lat", "latitude must be between -90 and 90"))
        if not (
            isinstance(self.lon, int | float)
            and math.isfinite(self.lon)
            and -180 <= self.lon <= 180
        ):
            errors.append(FieldError("lon", "longitude must be between -180 and 180"))
        if errors:
            raise DomainValidationError(errors)


@dataclass(frozen=True, slots=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, p: GeoPoint) -> bool:
        return self.min_lat <= p.lat <= self.max_lat and self.min_lon <= p.lon <= self.max_lon


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def validate_radius(radius_km: float) -> float:
    if not (math.isfinite(radius_km) and MIN_RADIUS_KM <= radius_km <= MAX_RADIUS_KM):
        raise DomainValidationError.single(
            "radius_km", f"must be between {MIN_RADIUS_KM} and {MAX_RADIUS_KM} km"
        )
    return float(radius_km)


def bounding_box(center: GeoPoint, radius_km: float) -> BoundingBox:
    """Smallest lat/lon box containing the circle (clamped at the poles; no antimeridian wrap,
    which no Dutch tenant needs — a box crossing ±180 is widened to the full longitude range)."""
    r = validate_radius(radius_km)
    dlat = math.degrees(r / EARTH_RADIUS_KM)
    min_lat, max_lat = max(-90.0, center.lat - dlat), min(90.0, center.lat + dlat)
    if max_lat >= 90.0 or min_lat <= -90.0:
        return BoundingBox(min_lat, max_lat, -180.0, 180.0)
    # widest longitude span is at the latitude nearest the pole
    dlon = math.degrees(
        math.asin(min(1.0, math.sin(r / EARTH_RADIUS_KM) / math.cos(math.radians(center.lat))))
    )
    min_lon, max_lon = center.lon - dlon, center.lon + dlon
    if min_lon < -180.0 or max_lon > 180.0:
        return BoundingBox(min_lat, max_lat, -180.0, 180.0)
    return BoundingBox(min_lat, max_lat, min_lon, max_lon)


class Neighbourhood(BaseModel):
    """Projection of identity's neighbourhood table (code, name, centroid, PC4 list)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: Annotated[str, Field(min_length=1, max_length=40)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    centroid_lat: Annotated[float, Field(ge=-90, le=90)]
    centroid_lon: Annotated[float, Field(ge=-180, le=180)]
    pc4: list[Annotated[str, Field(pattern=r"^\d{4}$")]]

    @property
    def centroid(self) -> GeoPoint:
        return GeoPoint(self.centroid_lat, self.centroid_lon)


def neighbourhood_for_pc4(pc4: str, table: Iterable[Neighbourhood]) -> Neighbourhood:
    code = pc4.strip()[:4]
    for n in table:
        if code in n.pc4:
            return n
    raise DomainValidationError.single(
        "pc4", f"postcode {pc4!r} is not in any neighbourhood of this tenant"
    )


def centroid_for_pc4(pc4: str, table: Iterable[Neighbourhood]) -> GeoPoint:
    return neighbourhood_for_pc4(pc4, table).centroid
