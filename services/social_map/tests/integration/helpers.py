"""Builders shared by the integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

WALK = {
    "kind": "activity",
    "organization_id": "org-a",
    "name": "Wandelgroep Oeverhoek",
    "description": "Samen een uur wandelen door het park, daarna koffie.",
    "category_codes": ["wandelen"],
    "service_at_locations": [
        {
            "id": "sal-1",
            "location": {
                "id": "loc-1",
                "name": "Parkpaviljoen",
                "latitude": 52.4620,
                "longitude": 4.8120,
                "address": {
                    "address_1": "Lindelaan 12",
                    "city": "Demodorp",
                    "postal_code": "9903 AB",
                },
                "accessibility": [{"code": "wheelchair"}],
            },
        }
    ],
    "schedules": [
        {
            "id": "sch-1",
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "dtstart": "2024-01-02",
            "opens_at": "10:00",
            "closes_at": "11:30",
        }
    ],
    "cost": {"free": True},
    "eligibility": {"minimum_age": 55},
    "languages": [{"code": "nl"}],
    "email": "wandel@org-a.example",
}


def entry(**overrides: Any) -> dict[str, Any]:
    return {**WALK, **overrides}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    """Wait for an asynchronous effect (event consumption, mail delivery)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


IDENTITY_DEMO_TABLE: list[dict[str, object]] = [
    {
        "code": "DM01",
        "name": "Oeverhoek",
        "lat": 52.4612,
        "lon": 4.8135,
        "postcodes": ["9901", "9902", "9903"],
    },
    {
        "code": "DM02",
        "name": "Molenweide",
        "lat": 52.4538,
        "lon": 4.8297,
        "postcodes": ["9904", "9905", "9906"],
    },
    {
        "code": "DM03",
        "name": "Klaverbuurt",
        "lat": 52.4471,
        "lon": 4.8412,
        "postcodes": ["9907", "9908"],
    },
    {
        "code": "DM04",
        "name": "Zandpolder-Noord",
        "lat": 52.4725,
        "lon": 4.8560,
        "postcodes": ["9909", "9910", "9911"],
    },
    {
        "code": "DM05",
        "name": "Lindenhof",
        "lat": 52.4394,
        "lon": 4.8689,
        "postcodes": ["9912", "9913"],
    },
    {
        "code": "DM06",
        "name": "Reigersdijk",
        "lat": 52.4820,
        "lon": 4.8803,
        "postcodes": ["9914", "9915", "9916"],
    },
]


def demo_hsds_json(tenant: str, reference: object) -> bytes:
    from social_map.demo.generator import demo_map
    from social_map.domain.hsds_interchange import export_json
    from social_map.domain.taxonomy import default_taxonomy

    data = demo_map(reference=reference)  # type: ignore[arg-type]
    return export_json(data, default_taxonomy()).encode()
