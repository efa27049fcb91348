"""Fictional neighbourhoods of the demo tenant: a copy of identity's demo table.

Identity owns the table (services/identity/.../demo/neighbourhoods.csv) and publishes it as
`NeighbourhoodsImported`; the marketplace keeps a projection. This constant is the
marketplace's copy for demo data (the demo seed writes it into the projection when identity's
event has not arrived yet) and tests. Keep in sync with identity's table.
"""

from __future__ import annotations

from marketplace.domain.places import Neighbourhood


def _n(code: str, name: str, lat: float, lon: float, pc4: str) -> Neighbourhood:
    return Neighbourhood(code, name, lat, lon, tuple(pc4.split()))


DEMO_NEIGHBOURHOODS: tuple[Neighbourhood, ...] = (
    _n("DM01", "Oeverhoek", 52.4612, 4.8135, "9901 9902 9903"),
    _n("DM02", "Molenweide", 52.4538, 4.8297, "9904 9905 9906"),
    _n("DM03", "Klaverbuurt", 52.4471, 4.8412, "9907 9908"),
    _n("DM04", "Zandpolder-Noord", 52.4725, 4.8560, "9909 9910 9911"),
    _n("DM05", "Lindenhof", 52.4394, 4.8689, "9912 9913"),
    _n("DM06", "Reigersdijk", 52.4820, 4.8803, "9914 9915 9916"),
)


def as_identity_rows() -> list[dict[str, object]]:
    """The table as identity's `neighbourhoods_imported` carries it."""
    return [
        {"code": n.code, "name": n.name, "lat": n.lat, "lon": n.lon, "postcodes": list(n.pc4s)}
        for n in DEMO_NEIGHBOURHOODS
    ]
