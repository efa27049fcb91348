"""Search: indexed pre-filter in the database, exact filters and ranking in Python.

1. `search_points`: bounding box of the circle (indexed lat/lon) — plus the online-only
   points — ∩ own token index (`tokens $in` the query's stems, compound parts and synonym
   tags) ∩ categories (with descendants) ∩ not hidden; only ids and versions come back.
2. Parsed entries come from a cache keyed by document version; only changed or unseen
   entries are fetched and validated.
3. `domain.ranking.rank` applies every filter exactly, computes distances, scores and sorts.
4. The page is a slice of the ranked list; the cursor holds the offset and a fingerprint of
   the query, so a cursor of another query is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wijkkracht_common.errors import InvalidInput, field_error
from wijkkracht_common.pagination import decode_cursor, encode_cursor

from social_map.adapters import repositories as repo
from social_map.adapters.documents import StoredEntry
from social_map.domain.errors import DomainValidationError
from social_map.domain.filters import SearchFilters, build_predicate
from social_map.domain.geo import GeoPoint, bounding_box, validate_radius
from social_map.domain.occurrences import TZ
from social_map.domain.ranking import SearchHit, rank
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
            [self.text, self.filters.model_dump(mode="json"), self.lat, self.lon, self.pc4,
             self.radius_km], sort_keys=True, default=str,
        )  # fmt: skip
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None
    center: GeoPoint | None
    total: int


async def resolve_center(
    db: repo.Db, lat: float | None, lon: float | None, pc4: str | None
) -> GeoPoint | None:
    if pc4 is not None:
        hood = await repo.neighbourhood_of_pc4(db, pc4.strip()[:4])
        if hood is None:
            raise DomainValidationError.single(
                "pc4", f"postcode {pc4!r} is not in any neighbourhood of this tenant"
            )
        return hood.centroid
    if (lat is None) != (lon is None):
        raise DomainValidationError.single("lon" if lon is None else "lat",
                                           "give lat and lon together")  # fmt: skip
    return None if lat is None or lon is None else GeoPoint(lat, lon)


async def load_entries(
    ctx: ServiceContext, db: repo.Db, versions: dict[str, int]
) -> list[StoredEntry]:
    out: list[StoredEntry] = []
    missing: list[str] = []
    for entry_id, v in versions.items():
        item = ctx.entries.get(db.name, entry_id, v)
        if item is None:
            missing.append(entry_id)
        else:
            out.append(item)
    for start in range(0, len(missing), 1000):
        for doc in await repo.entry_docs(db, missing[start : start + 1000]):
            out.append(ctx.entries.put(db.name, doc))
    return out


async def search(
    ctx: ServiceContext, tenant: str, query: SearchQuery, *, limit: int, cursor: str | None
) -> SearchPage:
    now = ctx.now()
    db = await ctx.db(tenant)
    view = await ctx.view(tenant)
    categories = query.filters.category_codes(view.taxonomy)
    center = await resolve_center(db, query.lat, query.lon, query.pc4)
    radius = validate_radius(query.radius_km)
    offset = _offset(cursor, query)
    tokens = view.analyzer.query_tokens(query.text) if query.text.strip() else []
    kind = query.filters.kind.value if query.filters.kind else None
    points: list[dict[str, Any]] = []
    if center is not None:
        box = bounding_box(center, radius)
        for online in (False, True):
            points += await repo.candidate_points(db, box=box, tokens=tokens or None,
                                                  categories=categories, kind=kind,
                                                  online=online)  # fmt: skip
    else:
        points = await repo.candidate_points(db, box=None, tokens=tokens or None,
                                             categories=categories, kind=kind,
                                             online=False)  # fmt: skip
    versions: dict[str, int] = {}
    for p in points:
        versions[p["entry_id"]] = max(int(p.get("v", 0)), versions.get(p["entry_id"], 0))
    stored = await load_entries(ctx, db, versions)
    keep = build_predicate(query.filters, view.taxonomy, now.astimezone(TZ).date())
    hits = rank(
        (s.entry for s in stored), analyzer=view.analyzer, taxonomy=view.taxonomy,
        policy=view.policy, now=now, text=query.text, center=center, radius_km=radius,
        keep=keep,
    )  # fmt: skip
    page = hits[offset : offset + limit]
    next_cursor = None
    if offset + limit < len(hits):
        next_cursor = encode_cursor({"o": offset + limit, "f": query.fingerprint()})
    return SearchPage(page, next_cursor, center, len(hits))


def _offset(cursor: str | None, query: SearchQuery) -> int:
    if not cursor:
        return 0
    value = decode_cursor(cursor)
    offset = value.get("o")
    if value.get("f") != query.fingerprint() or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(
            "Deze cursor hoort bij een andere zoekvraag. / This cursor belongs to another "
            "search.",
            errors=[field_error("query.cursor", "cursor does not match this search")],
        )
    return offset


def as_of(now: datetime) -> str:
    return now.astimezone(TZ).isoformat()
