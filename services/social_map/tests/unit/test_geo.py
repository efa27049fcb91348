from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.domain.errors import DomainValidationError
from social_map.domain.geo import (
    EARTH_RADIUS_KM,
    GeoPoint,
    bounding_box,
    centroid_for_pc4,
    haversine_km,
    neighbourhood_for_pc4,
    validate_radius,
)


def test_haversine_known_distance() -> None:
    amsterdam, utrecht = GeoPoint(52.3791, 4.9003), GeoPoint(52.0894, 5.1101)
    assert haversine_km(amsterdam, utrecht) == pytest.approx(35.1, abs=0.5)
    assert haversine_km(amsterdam, amsterdam) == 0


@pytest.mark.parametrize(
    ("lat", "lon", "fields"),
    [(90.1, 0, ["lat"]), (0, -181, ["lon"]), (math.nan, math.inf, ["lat", "lon"])],
)
def test_invalid_points_name_fields(lat: float, lon: float, fields: list[str]) -> None:
    with pytest.raises(DomainValidationError) as exc:
        GeoPoint(lat, lon)
    assert exc.value.fields == fields


@pytest.mark.parametrize("radius", [0, 0.05, 50.01, -1, math.nan])
def test_radius_limits(radius: float) -> None:
    with pytest.raises(DomainValidationError) as exc:
        validate_radius(radius)
    assert exc.value.fields == ["radius_km"]
    with pytest.raises(DomainValidationError):
        bounding_box(GeoPoint(52.4, 4.8), radius)


@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-170, 170),
    radius=st.floats(0.1, 50),
    bearing=st.floats(0, 2 * math.pi),
    frac=st.floats(0, 0.999),
)
def test_every_point_within_radius_is_inside_the_box(
    lat: float, lon: float, radius: float, bearing: float, frac: float
) -> None:
    center = GeoPoint(lat, lon)
    d = radius * frac / EARTH_RADIUS_KM
    phi1, lmb1 = math.radians(lat), math.radians(lon)
    phi2 = math.asin(
        math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(bearing)
    )
    lmb2 = lmb1 + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(phi1),
        math.cos(d) - math.sin(phi1) * math.sin(phi2),
    )
    p = GeoPoint(math.degrees(phi2), math.degrees(lmb2))
    box = bounding_box(center, radius)
    eps = 1e-9
    assert box.min_lat - eps <= p.lat <= box.max_lat + eps
    assert box.min_lon - eps <= p.lon <= box.max_lon + eps


def test_pc4_lookup() -> None:
    hood = neighbourhood_for_pc4("9903", DEMO_NEIGHBOURHOODS)
    assert hood.code == "DM01"
    assert centroid_for_pc4("9913 AB", DEMO_NEIGHBOURHOODS) == DEMO_NEIGHBOURHOODS[4].centroid
    with pytest.raises(DomainValidationError) as exc:
        neighbourhood_for_pc4("1234", DEMO_NEIGHBOURHOODS)
    assert exc.value.fields == ["pc4"]
