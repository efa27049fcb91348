"""Search over the tenant's in-memory index; full documents only for the returned page.

1. The tenant's `SearchIndex` (see `service.search_index`: built lazily, caught up through
   the entry change counter) gives candidates: postings of the query's stems, compound parts
   and synonym tags ∩ grid cells of the circle's bounding box (+ online offers).
2. Candidates are filtered (exactly `filters.build_predicate`, mostly as set operations) and
   counted; only those that can reach the requested page are scored (exactly `ranking.rank`:
   precomputed field weights, distance decay, freshness).
3. The page is a slice of the ranked list; its entries are read with one `$in` query (parsed
   entries are cached by document version). The cursor holds the offset and a fingerprint of
   the query, so a cursor of another query is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from wijkkracht_common.errors import InvalidInput, field_error
from wijkkracht_common.pagination import decode_cursor, encode_cursor

from social_map.adapters.documents import StoredEntry
from social_map.adapters.repositories import Repository
from social_map.domain.errors import DomainValidationError
from social_map.domain.filters import SearchFilters
from social_map.domain.geo import GeoPoint, validate_radius
from social_map.domain.occurrences import TZ
from social_map.domain.ranking import SearchHit
from social_map.service.context import ServiceContext


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    filters: SearchFilters = field(default_factory=SearchFilters)
    lat: float | None = None
    lon: float | None = None
    pc4: str | None = None
    radius_km: float = 3.0

    def fingerprint(self) -> str:
        raw = json.dumps(
            [
                self.text,
                self.filters.model_dump(mode="json"),
                self.lat,
                self.lon,
                self.pc4,
                self.radius_km,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None
    center: GeoPoint | None
    total: int


async def resolve_center(
    ctx: ServiceContext, reader: Repository, lat: float | None, lon: float | None, pc4: str | None
) -> GeoPoint | None:
    if pc4 is not None:
        centroid = await ctx.centroids.get(reader, pc4.strip()[:4])
        if centroid is None:
            raise DomainValidationError.single(
                "pc4", f"postcode {pc4!r} is not in any neighbourhood of this tenant"
            )
        return centroid
    if (lat is None) != (lon is None):
        raise DomainValidationError.single(
            "lon" if lon is None else "lat", "give lat and lon together"
        )
    return None if lat is None or lon is None else GeoPoint(lat, lon)


async def load_entries(
    ctx: ServiceContext, reader: Repository, versions: dict[str, int]
) -> list[StoredEntry]:
    """These entries (id → version), parsed ones from the cache, the others read by id."""
    out: list[StoredEntry] = []
    missing: list[str] = []
    name = reader.name
    for entry_id, v in versions.items():
        item = ctx.entries.get(name, entry_id, v)
        if item is None:
            missing.append(entry_id)
        else:
            out.append(item)
    for start in range(0, len(missing), 1000):
        for stored in await reader.entries_by_ids(missing[start : start + 1000]):
            out.append(ctx.entries.put(name, stored))
    return out


async def search(
    ctx: ServiceContext, tenant: str, query: SearchQuery, *, limit: int, cursor: str | None
) -> SearchPage:
    now = ctx.now()
    reader = await ctx.reader(tenant)
    view = await ctx.view(tenant)
    categories = query.filters.category_codes(view.taxonomy)
    center = await resolve_center(ctx, reader, query.lat, query.lon, query.pc4)
    radius = validate_radius(query.radius_km)
    offset = _offset(cursor, query)
    index = await ctx.search_indexes.get(reader, view.analyzer, view.taxonomy)
    ranked, total = index.search_page(
        terms=view.analyzer.query_terms(query.text),
        filters=query.filters,
        categories=categories,
        policy=view.policy,
        now=now,
        today=now.astimezone(TZ).date(),
        center=center,
        radius_km=radius,
        top=offset + limit,
    )
    window = ranked[offset : offset + limit]
    stored = {
        s.entry.id: s
        for s in await load_entries(ctx, reader, {h.entry_id: h.version for h in window})
    }
    page = [
        SearchHit(
            stored[h.entry_id].entry,
            h.score,
            h.text_score,
            h.distance_km,
            h.location_id,
            h.freshness,
            h.stale_warning,
        )
        for h in window
        if h.entry_id in stored
    ]
    next_cursor = None
    if offset + limit < total:
        next_cursor = encode_cursor({"o": offset + limit, "f": query.fingerprint()})
    return SearchPage(page, next_cursor, center, total)


def _offset(cursor: str | None, query: SearchQuery) -> int:
    if not cursor:
        return 0
    value = decode_cursor(cursor)
    offset = value.get("o")
    if value.get("f") != query.fingerprint() or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(
            "Deze cursor hoort bij een andere zoekvraag. / This cursor belongs to another search.",
            errors=[field_error("query.cursor", "cursor does not match this search")],
        )
    return offset


def as_of(now: datetime) -> str:
    return now.astimezone(TZ).isoformat()
