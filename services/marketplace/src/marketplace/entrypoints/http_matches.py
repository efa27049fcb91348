"""HTTP: matches (accept, decline, withdraw, share contact, done) and their messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.auth import PersonPrincipal

from marketplace.entrypoints.deps import Ctx, created
from marketplace.entrypoints.schemas import ContactIn, ForPerson, MessageIn, match_out, message_out
from marketplace.service import matches

router = APIRouter(tags=["matches"])


@router.get("/matches")
async def my_matches(
    principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    found = await matches.mine(ctx, principal, for_person=for_person)
    return {"items": [match_out(side) for side in found], "next_cursor": None}


@router.get("/matches/{match_id}")
async def read_match(
    match_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    return match_out(await matches.read(ctx, principal, match_id, for_person=for_person))


@router.post("/matches/{match_id}/acceptance")
async def accept(
    match_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    """The post's owner side accepts the response: the match is made."""
    return match_out(await matches.accept(ctx, principal, match_id, for_person=for_person))


@router.post("/matches/{match_id}/declination")
async def decline(
    match_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    return match_out(await matches.decline(ctx, principal, match_id, for_person=for_person))


@router.post("/matches/{match_id}/withdrawal")
async def withdraw(
    match_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    return match_out(await matches.withdraw(ctx, principal, match_id, for_person=for_person))


@router.post("/matches/{match_id}/completion")
async def complete(
    match_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    """The help was given: either side marks it done."""
    return match_out(await matches.complete(ctx, principal, match_id, for_person=for_person))


@router.post("/matches/{match_id}/contact")
async def share_contact(
    match_id: str,
    body: ContactIn,
    principal: PersonPrincipal,
    ctx: Ctx,
    for_person: ForPerson = None,
) -> dict[str, Any]:
    """Agree to share a contact detail; both sides see them once both agreed."""
    side = await matches.share_contact(
        ctx, principal, match_id, body.contact, for_person=for_person
    )
    return match_out(side)


@router.get("/matches/{match_id}/messages")
async def read_messages(
    match_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    _, shown = await matches.messages(ctx, principal, match_id, for_person=for_person)
    return {"items": [message_out(m) for m in shown], "next_cursor": None}


@router.post("/matches/{match_id}/messages", status_code=201)
async def send_message(
    match_id: str,
    body: MessageIn,
    principal: PersonPrincipal,
    ctx: Ctx,
    request: Request,
    for_person: ForPerson = None,
) -> JSONResponse:
    async def produce() -> dict[str, Any]:
        sent = await matches.send(ctx, principal, match_id, body.text, for_person=for_person)
        return message_out(sent)

    return await created(
        ctx,
        principal,
        request,
        route=f"messages:{match_id}:{for_person}",
        body=body.model_dump(),
        produce=produce,
    )
