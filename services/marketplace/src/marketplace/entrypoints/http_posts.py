"""HTTP: posts (the market, one's own, organisations'), their candidates and responses.
Parse, call a use case, present; no decisions here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.auth import PersonPrincipal
from wijkkracht_common.pagination import CursorParam, LimitParam

from marketplace.adapters.repositories import PostQuery
from marketplace.domain.posts import PostKind, PostStatus
from marketplace.entrypoints.deps import Ctx, created
from marketplace.entrypoints.schemas import (
    ForPerson,
    PostIn,
    PostPatch,
    RenewIn,
    ResponseIn,
    candidate_out,
    match_out,
    post_out,
)
from marketplace.service import matches, posts
from marketplace.service.posts import PostChange, PostDraft, Shown

router = APIRouter(tags=["posts"])


@router.post("/posts", status_code=201)
async def create_post(
    body: PostIn,
    principal: PersonPrincipal,
    ctx: Ctx,
    request: Request,
    for_person: ForPerson = None,
) -> JSONResponse:
    """A help request or offer (a resident, or a broker for a resident with `for_person`), a
    vacancy or a local business's offer (`organisation`)."""
    draft = PostDraft(
        kind=body.kind,
        category=body.category,
        text=body.text,
        radius_km=body.radius_km,
        when=body.when,
        scope=body.visibility,
        group_id=body.group_id,
        organisation=body.organisation,
        neighbourhood_code=body.neighbourhood_code,
        lifetime_days=body.lifetime_days,
    )

    async def produce() -> dict[str, Any]:
        post = await posts.publish(ctx, principal, draft, for_person=for_person)
        return post_out(Shown(post, True, None))

    return await created(
        ctx,
        principal,
        request,
        route=f"posts:{for_person}",
        body=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/posts")
async def market(
    principal: PersonPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
    kind: PostKind | None = None,
    category: str | None = Query(default=None, max_length=64),
    neighbourhood_code: str | None = Query(default=None, max_length=64),
    group_id: str | None = Query(default=None, max_length=64),
    for_person: ForPerson = None,
) -> dict[str, Any]:
    """Open posts the caller may see (newest first), other than their own."""
    query = PostQuery(
        kind=kind, category=category, neighbourhood_code=neighbourhood_code, group_id=group_id
    )
    items, next_cursor = await posts.market(
        ctx, principal, query=query, limit=limit, cursor=cursor, for_person=for_person
    )
    return {"items": [post_out(s) for s in items], "next_cursor": next_cursor}


@router.get("/posts/mine")
async def my_posts(
    principal: PersonPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
    status: PostStatus | None = None,
    for_person: ForPerson = None,
) -> dict[str, Any]:
    items, next_cursor = await posts.mine(
        ctx, principal, status=status, limit=limit, cursor=cursor, for_person=for_person
    )
    return {
        "items": [post_out(Shown(p, True, None)) for p in items],
        "next_cursor": next_cursor,
    }


@router.get("/organisations/{organisation}/posts")
async def organisation_posts(
    organisation: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """An organisation's vacancies and offers, for its staff."""
    items, next_cursor = await posts.of_organisation(
        ctx, principal, organisation, limit=limit, cursor=cursor
    )
    return {
        "items": [post_out(Shown(p, True, None)) for p in items],
        "next_cursor": next_cursor,
    }


@router.get("/posts/{post_id}")
async def read_post(
    post_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    return post_out(await posts.read(ctx, principal, post_id, for_person=for_person))


@router.patch("/posts/{post_id}")
async def change_post(
    post_id: str,
    body: PostPatch,
    principal: PersonPrincipal,
    ctx: Ctx,
    for_person: ForPerson = None,
) -> dict[str, Any]:
    change = PostChange(text=body.text, when=body.when, radius_km=body.radius_km)
    post = await posts.update(ctx, principal, post_id, change, for_person=for_person)
    return post_out(Shown(post, True, None))


@router.post("/posts/{post_id}/cancellation")
async def cancel_post(
    post_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    post = await posts.cancel(ctx, principal, post_id, for_person=for_person)
    return post_out(Shown(post, True, None))


@router.post("/posts/{post_id}/renewal")
async def renew_post(
    post_id: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    body: RenewIn | None = None,
    for_person: ForPerson = None,
) -> dict[str, Any]:
    """One click: open for another lifetime (default 30 days) from now."""
    days = body.lifetime_days if body else None
    post = await posts.renew(ctx, principal, post_id, days=days, for_person=for_person)
    return post_out(Shown(post, True, None))


@router.get("/posts/{post_id}/candidates")
async def post_candidates(
    post_id: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    for_person: ForPerson = None,
) -> dict[str, Any]:
    """Open offers, volunteers and fresh social-map entries that fit a request, best first
    (neighbourhood and distance band only, never an address)."""
    _, ranked = await posts.candidates(ctx, principal, post_id, limit=limit, for_person=for_person)
    cats = await posts.categories_of(ctx, principal.tenant)
    return {"items": [candidate_out(c, cats) for c in ranked], "next_cursor": None}


@router.post("/posts/{post_id}/responses", status_code=201)
async def respond(
    post_id: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    request: Request,
    body: ResponseIn | None = None,
    for_person: ForPerson = None,
) -> JSONResponse:
    """Offer help for a request, ask for an offer, apply for a vacancy: a proposed match."""
    message = body.message if body else None

    async def produce() -> dict[str, Any]:
        side = await matches.respond(
            ctx, principal, post_id, message=message, for_person=for_person
        )
        return match_out(side)

    return await created(
        ctx,
        principal,
        request,
        route=f"responses:{post_id}:{for_person}",
        body={"message": message},
        produce=produce,
    )


@router.get("/posts/{post_id}/responses")
async def responses(
    post_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    """The responses to one's own post."""
    found = await matches.of_post(ctx, principal, post_id, for_person=for_person)
    return {"items": [match_out(side) for side in found], "next_cursor": None}
