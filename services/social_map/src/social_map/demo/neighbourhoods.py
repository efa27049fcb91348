"""Fictional neighbourhoods of the demo tenant.

Keep in sync with identity's demo neighbourhood table (identity owns the real table and
publishes it as an event; this constant is the social map's copy for demo data and tests).
Five wijken around lat 52.43–52.48, lon 4.80–4.87, PC4 9901–9930 (not real Dutch postcodes).
"""

from __future__ import annotations

from social_map.domain.geo import Neighbourhood


def _n(code: str, name: str, lat: float, lon: float, first_pc4: int) -> Neighbourhood:
    pc4 = [str(first_pc4 + i) for i in range(6)]
    return Neighbourhood(code=code, name=name, centroid_lat=lat, centroid_lon=lon, pc4=pc4)


DEMO_NEIGHBOURHOODS: tuple[Neighbourhood, ...] = (
    _n("oosterkwartier", "Oosterkwartier", 52.4700, 4.8550, 9901),
    _n("westerpolder", "Westerpolder", 52.4400, 4.8100, 9907),
    _n("dorpskern", "Dorpskern", 52.4550, 4.8350, 9913),
    _n("noorderveld", "Noorderveld", 52.4780, 4.8250, 9919),
    _n("zuidereiland", "Zuidereiland", 52.4330, 4.8620, 9925),
)

#: The Piet story: he lives in PC4 9903 (Oosterkwartier); De Stappers walk there.
PIET_PC4 = "9903"
