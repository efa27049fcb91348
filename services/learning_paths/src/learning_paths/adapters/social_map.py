"""Local offers for a `local_offer` step, from the social map's public API (a documented
HTTP call: `GET /taxonomy` maps the step's dimensions to categories, `GET /search` finds
entries per category near the resident's PC4). The resident's own bearer token is passed on,
so the social map applies its own rules; nothing is stored here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2
from wijkkracht_common.observability import get_logger

log = get_logger(__name__)
MAX_CATEGORIES = 4


@dataclass(frozen=True)
class LocalOffer:
    entry_id: str
    name: str
    description: str
    url: str | None
    category: str
    distance_km: float | None


class LocalOffers(Protocol):
    async def near(
        self,
        *,
        authorization: str,
        categories: Sequence[str],
        dimensions: Sequence[str],
        pc4: str | None,
        limit: int,
    ) -> list[LocalOffer]: ...


class NoLocalOffers:
    """No social map configured: a local offer step shows its text only."""

    async def near(
        self,
        *,
        authorization: str,
        categories: Sequence[str],
        dimensions: Sequence[str],
        pc4: str | None,
        limit: int,
    ) -> list[LocalOffer]:
        return []


class SocialMapOffers:
    def __init__(self, base_url: str, *, transport: httpx2.AsyncBaseTransport | None = None):
        self._base = base_url.rstrip("/")
        self._transport = transport

    def _client(self, authorization: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=self._base,
            headers={"Authorization": authorization},
            timeout=5.0,
            transport=self._transport,
        )

    async def near(
        self,
        *,
        authorization: str,
        categories: Sequence[str],
        dimensions: Sequence[str],
        pc4: str | None,
        limit: int,
    ) -> list[LocalOffer]:
        try:
            async with self._client(authorization) as client:
                wanted = list(dict.fromkeys(categories))
                if dimensions:
                    wanted.extend(
                        c for c in await self._categories_for(client, dimensions) if c not in wanted
                    )
                found: dict[str, LocalOffer] = {}
                for category in wanted[:MAX_CATEGORIES]:
                    params: dict[str, Any] = {"category": category, "limit": limit}
                    if pc4:
                        params["pc4"] = pc4
                    response = await client.get("/search", params=params)
                    response.raise_for_status()
                    for hit in response.json().get("items", []):
                        offer = _offer(hit, category)
                        if offer is not None and offer.entry_id not in found:
                            found[offer.entry_id] = offer
        except (httpx2.HTTPError, ValueError) as error:
            # The step still shows its own text; the social map being away is not an error
            # of the resident's learning.
            log.warning("local offers unavailable", error=str(error))
            return []
        ranked = sorted(
            found.values(), key=lambda o: (o.distance_km is None, o.distance_km or 0.0, o.name)
        )
        return ranked[:limit]

    async def _categories_for(
        self, client: httpx2.AsyncClient, dimensions: Sequence[str]
    ) -> list[str]:
        response = await client.get("/taxonomy")
        response.raise_for_status()
        wanted = set(dimensions)
        return [
            str(c["code"])
            for c in response.json().get("categories", [])
            if wanted.intersection(c.get("dimensions", []))
        ]


def _offer(hit: dict[str, Any], category: str) -> LocalOffer | None:
    entry = hit.get("entry") or {}
    if not entry.get("id") or not entry.get("name"):
        return None
    distance = hit.get("distance_km")
    return LocalOffer(
        entry_id=str(entry["id"]),
        name=str(entry["name"]),
        description=str(entry.get("description") or "")[:500],
        url=entry.get("url"),
        category=category,
        distance_km=float(distance) if isinstance(distance, int | float) else None,
    )
