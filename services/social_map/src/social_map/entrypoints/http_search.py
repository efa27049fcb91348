"""Search, recommendations, neighbourhoods and their activity feeds (iCalendar, print).

Search, neighbourhoods, feeds and the agenda are public reference data (machine clients of
the tenant too); recommendations concern a person's results and feed links are handed to a
person; revoking them is a manager's work. The signed feed URL is public (the token is the
credential)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from wijkkracht_common.auth import MachinePrincipal, PersonPrincipal
from wijkkracht_common.pagination import CursorParam, LimitParam

from social_map.domain.errors import DomainValidationError
from social_map.domain.filters import SearchFilters
from social_map.domain.geo import MAX_RADIUS_KM, MIN_RADIUS_KM
from social_map.domain.model import EntryKind, field_errors
from social_map.domain.occurrences import TZ
from social_map.entrypoints.deps import Ctx
from social_map.entrypoints.views import hit_view, recommendation_view
from social_map.presentation.ical_feed import activities_feed
from social_map.presentation.print_agenda import agenda_html
from social_map.service import feeds
from social_map.service import neighbourhoods as hoods
from social_map.service import recommendations as recs
from social_map.service.search import SearchQuery, search

router = APIRouter(tags=["search"])

Radius = Annotated[
    float | None, Query(description=f"km, {MIN_RADIUS_KM}-{MAX_RADIUS_KM}; default 3")
]


@router.get("/search/index")
async def search_index_state(principal: MachinePrincipal, ctx: Ctx) -> dict[str, str]:
    """The state of this replica's search index of the caller's tenant: "ready", "warming"
    (built in the background since start-up; a search waits for it) or "cold" (built by
    the first search). The service is ready (`/readyz`) in every state."""
    return {"state": ctx.search_indexes.state(ctx.database_name(principal.tenant))}


@router.get("/search")
async def search_entries(
    principal: MachinePrincipal,
    ctx: Ctx,
    q: Annotated[str, Query(max_length=200, description="free text (Dutch)")] = "",
    category: Annotated[str | None, Query(max_length=61)] = None,
    age: Annotated[int | None, Query(description="audience age 0-120")] = None,
    free: bool = False,
    open_now: bool = False,
    weekday: Annotated[int | None, Query(description="0 = Monday … 6 = Sunday")] = None,
    time_from: time | None = None,
    time_to: time | None = None,
    language: Annotated[str | None, Query(max_length=3)] = None,
    accessibility: Annotated[list[str] | None, Query()] = None,
    kind: EntryKind | None = None,
    lat: float | None = None,
    lon: float | None = None,
    pc4: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{3}$")] = None,
    radius_km: Radius = None,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    try:
        filters = SearchFilters(
            category=category,
            age=age,
            free_only=free,
            open_at=ctx.now() if open_now else None,
            weekday=weekday,
            time_from=time_from,
            time_to=time_to,
            language=language,
            accessibility=accessibility or [],
            kind=kind,
        )
    except ValidationError as exc:
        raise DomainValidationError(field_errors(exc)) from None
    query = SearchQuery(
        q,
        filters,
        lat,
        lon,
        pc4,
        radius_km if radius_km is not None else ctx.settings.default_radius_km,
    )
    page = await search(ctx, principal.tenant, query, limit=limit, cursor=cursor)
    return {
        "items": [hit_view(h) for h in page.hits],
        "next_cursor": page.next_cursor,
        "total": page.total,
        "center": None if page.center is None else {"lat": page.center.lat, "lon": page.center.lon},
    }


@router.get("/recommendations")
async def recommendations(
    principal: PersonPrincipal,
    ctx: Ctx,
    response_id: Annotated[str, Query(min_length=1, max_length=100)],
    interests: Annotated[str, Query(max_length=200, description="own words, e.g. wandelen")] = "",
    radius_km: Radius = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Offers for the lowest dimensions of a questionnaire result, near the resident."""
    result = await recs.for_response(
        ctx, principal, response_id, interests=interests, radius_km=radius_km, limit=limit
    )
    return {
        "response_id": result.response_id,
        "focus_dimensions": result.focus,
        "neighbourhood_code": result.neighbourhood_code,
        "items": [recommendation_view(r) for r in result.items],
    }


@router.get("/neighbourhoods")
async def neighbourhoods(principal: MachinePrincipal, ctx: Ctx) -> dict[str, Any]:
    table = await hoods.table(ctx, principal)
    return {"items": [n.model_dump() for n in table]}


@router.get("/neighbourhoods/{code}/activities.ics")
async def activities_ics(code: str, principal: MachinePrincipal, ctx: Ctx) -> Response:
    """iCalendar feed of the neighbourhood's activities (one VEVENT + RRULE per schedule)."""
    hood, entries, policy = await hoods.with_entries(ctx, principal.tenant, code)
    text = activities_feed(hood, entries, policy=policy, now=ctx.now())
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{code}.ics"'},
    )


@router.post("/neighbourhoods/{code}/feed-link")
async def create_feed_link(code: str, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """A signed URL of the neighbourhood's iCalendar feed for calendar apps (no login)."""
    return await feeds.feed_url(ctx, principal, code)


@router.delete("/neighbourhoods/{code}/feed-link")
async def revoke_feed_links(code: str, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """Neighbourhood manager: every feed URL of this neighbourhood issued so far stops working."""
    generation = await feeds.revoke(ctx, principal, code)
    return {"neighbourhood_code": code, "generation": generation}


@router.get("/feeds/{token}/activities.ics")
async def signed_activities_ics(token: str, ctx: Ctx) -> Response:
    """iCalendar feed via a signed URL (the token is the credential; invalid → 404)."""
    now = ctx.now()
    tenant, hood, entries = await feeds.feed_target(ctx, token, now)
    policy = (await ctx.view(tenant)).policy
    text = activities_feed(hood, entries, policy=policy, now=now)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'inline; filename="{hood.code}.ics"',
            "Cache-Control": "private, max-age=300",
        },
    )


@router.get("/neighbourhoods/{code}/agenda", response_class=HTMLResponse)
async def printable_agenda(
    code: str,
    principal: MachinePrincipal,
    ctx: Ctx,
    days: Annotated[int, Query(ge=1, le=62)] = 14,
) -> HTMLResponse:
    """Printable agenda (HTML, large type) of the coming `days` days."""
    hood, entries, policy = await hoods.with_entries(ctx, principal.tenant, code)
    now = ctx.now()
    start = now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    html = agenda_html(
        hood, entries, start=start, end=start + timedelta(days=days), policy=policy, now=now
    )
    return HTMLResponse(html)
