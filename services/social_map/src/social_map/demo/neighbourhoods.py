"""Fictional neighbourhoods of the demo tenant: a copy of identity's demo table.

Identity owns the table (services/identity/.../demo/neighbourhoods.csv) and publishes it as
`NeighbourhoodsImported`; the social map keeps a projection. This constant is the social
map's copy for demo data, the demo seed (which may write it into the projection directly)
and tests. Keep in sync with identity's table.
"""

from __future__ import annotations

from social_map.domain.geo import Neighbourhood


def _n(code: str, name: str, lat: float, lon: float, pc4: str) -> Neighbourhood:
    return Neighbourhood(code=code, name=name, centroid_lat=lat, centroid_lon=lon, pc4=pc4.split())


DEMO_NEIGHBOURHOODS: tuple[Neighbourhood, ...] = (
    _n("DM01", "Oeverhoek", 52.4612, 4.8135, "9901 9902 9903"),
    _n("DM02", "Molenweide", 52.4538, 4.8297, "9904 9905 9906"),
    _n("DM03", "Klaverbuurt", 52.4471, 4.8412, "9907 9908"),
    _n("DM04", "Zandpolder-Noord", 52.4725, 4.8560, "9909 9910 9911"),
    _n("DM05", "Lindenhof", 52.4394, 4.8689, "9912 9913"),
    _n("DM06", "Reigersdijk", 52.4820, 4.8803, "9914 9915 9916"),
)

#: The Piet story: he lives in PC4 9903 (DM01 Oeverhoek); De Stappers walk there.
PIET_PC4 = "9903"
