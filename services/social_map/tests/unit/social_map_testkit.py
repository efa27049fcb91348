"""Builders shared by the social-map unit tests (imported as a plain module)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from social_map.domain.model import (
    Address,
    Entry,
    EntryKind,
    Location,
    Schedule,
    ServiceAtLocation,
)

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=AMS)  # a Monday


def make_entry(
    id: str = "e1",
    name: str = "Wandelgroep",
    *,
    lat: float = 52.47,
    lon: float = 4.855,
    postal_code: str = "9903 AB",
    categories: list[str] | None = None,
    description: str = "",
    assured_at: datetime | None = NOW,
    **kw: object,
) -> Entry:
    loc = Location(
        id=f"{id}-loc",
        name="Buurthuis",
        latitude=lat,
        longitude=lon,
        address=Address(address_1="Lindelaan 1", city="Kustdorp", postal_code=postal_code),
    )
    data: dict[str, object] = {
        "id": id,
        "tenant": "demo",
        "kind": EntryKind.ACTIVITY,
        "organization_id": "org-1",
        "name": name,
        "description": description,
        "category_codes": categories if categories is not None else ["wandelen"],
        "service_at_locations": [ServiceAtLocation(id=f"{id}-sal", location=loc)],
        "schedules": [
            Schedule(
                id=f"{id}-sch",
                rrule="FREQ=WEEKLY;BYDAY=TU",
                dtstart=date(2025, 1, 7),
                opens_at=time(10),
                closes_at=time(11, 30),
            )
        ],
        "assured_at": assured_at,
        "assured_by": "owner@example.nl",
    }
    data.update(kw)
    return Entry.model_validate(data)
