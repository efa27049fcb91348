"""HTTP: groups, memberships, and the group's time credits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.auth import PersonPrincipal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.pagination import CursorParam, LimitParam

from marketplace.adapters.repositories import PostQuery
from marketplace.entrypoints.deps import Ctx, created, required_key
from marketplace.entrypoints.schemas import (
    ForPerson,
    GroupIn,
    GroupPatch,
    PersonRef,
    TransferIn,
    group_out,
    membership_out,
    post_out,
    statistics_out,
    transfer_out,
)
from marketplace.service import credits, groups, posts
from marketplace.service.credits import TransferRequest
from marketplace.service.groups import GroupDraft, GroupSettings

router = APIRouter(tags=["groups"])


@router.post("/groups", status_code=201)
async def create_group(
    body: GroupIn, principal: PersonPrincipal, ctx: Ctx, request: Request
) -> JSONResponse:
    """An organisation's group (its staff) or a residents' initiative; the creator moderates."""
    draft = GroupDraft(
        name=body.name,
        kind=body.kind,
        organisation=body.organisation,
        credits=body.credits,
        vog_required=body.vog_required,
        home_visit_categories=body.home_visit_categories,
    )

    async def produce() -> dict[str, Any]:
        group = await groups.create(ctx, principal, draft)
        return group_out(group, None)

    return await created(
        ctx, principal, request, route="groups", body=body.model_dump(mode="json"), produce=produce
    )


@router.get("/groups")
async def list_groups(principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    found = await groups.listing(ctx, principal)
    return {"items": [group_out(g, m) for g, m in found], "next_cursor": None}


@router.get("/groups/{group_id}")
async def read_group(group_id: str, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    group, membership = await groups.read(ctx, principal, group_id)
    return group_out(group, membership)


@router.patch("/groups/{group_id}")
async def change_group(
    group_id: str, body: GroupPatch, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    change = GroupSettings(
        name=body.name,
        credits=body.credits,
        vog_required=body.vog_required,
        home_visit_categories=body.home_visit_categories,
    )
    return group_out(await groups.change_settings(ctx, principal, group_id, change), None)


@router.post("/groups/{group_id}/membership")
async def join_group(
    group_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    """Open group: a member at once. Closed group: a request (or accepting an invitation)."""
    return membership_out(await groups.join(ctx, principal, group_id, for_person=for_person))


@router.delete("/groups/{group_id}/membership", status_code=204)
async def leave_group(
    group_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> None:
    await groups.leave(ctx, principal, group_id, for_person=for_person)


@router.get("/groups/{group_id}/members")
async def group_members(group_id: str, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    found = await groups.members(ctx, principal, group_id)
    return {"items": [membership_out(m) for m in found], "next_cursor": None}


@router.post("/groups/{group_id}/invitations")
async def invite(
    group_id: str, body: PersonRef, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return membership_out(await groups.invite(ctx, principal, group_id, body.person_id))


@router.post("/groups/{group_id}/approvals")
async def approve(
    group_id: str, body: PersonRef, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return membership_out(await groups.approve(ctx, principal, group_id, body.person_id))


@router.post("/groups/{group_id}/moderators")
async def appoint(
    group_id: str, body: PersonRef, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return membership_out(await groups.appoint(ctx, principal, group_id, body.person_id))


@router.get("/groups/{group_id}/posts")
async def group_posts(
    group_id: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
    for_person: ForPerson = None,
) -> dict[str, Any]:
    """The group's open posts, for its members (404 for anyone else)."""
    _, membership = await groups.read(ctx, principal, group_id)
    if for_person is None and (membership is None or not membership.active):
        raise NotFound(groups.NOT_FOUND)
    items, next_cursor = await posts.market(
        ctx,
        principal,
        query=PostQuery(group_id=group_id),
        limit=limit,
        cursor=cursor,
        for_person=for_person,
    )
    return {"items": [post_out(s) for s in items], "next_cursor": next_cursor}


@router.post("/groups/{group_id}/transfers", status_code=201)
async def transfer(
    group_id: str,
    body: TransferIn,
    principal: PersonPrincipal,
    ctx: Ctx,
    request: Request,
    for_person: ForPerson = None,
) -> JSONResponse:
    """Time credits from the caller (or the resident a broker acts for) to a member of this
    group or, when both groups allow it, of another. Idempotency-Key required."""
    key = required_key(request)
    booked, new = await credits.transfer(
        ctx,
        principal,
        group_id,
        TransferRequest(
            to_person_id=body.to_person_id,
            amount=body.amount,
            to_group_id=body.to_group_id,
            match_id=body.match_id,
        ),
        idempotency_key=key,
        for_person=for_person,
    )
    headers = {} if new else {"Idempotent-Replay": "true"}
    return JSONResponse(transfer_out(booked), status_code=201, headers=headers)


@router.post("/groups/{group_id}/transfers/{transfer_id}/reversal", status_code=201)
async def reverse(
    group_id: str, transfer_id: str, principal: PersonPrincipal, ctx: Ctx
) -> JSONResponse:
    """The only correction: a moderator books the transfer's reversal (once)."""
    booked, new = await credits.reverse(ctx, principal, group_id, transfer_id)
    headers = {} if new else {"Idempotent-Replay": "true"}
    return JSONResponse(transfer_out(booked), status_code=201, headers=headers)


@router.get("/groups/{group_id}/balance")
async def my_balance(
    group_id: str, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    amount = await credits.my_balance(ctx, principal, group_id, for_person=for_person)
    return {"group_id": group_id, "balance": amount}


@router.get("/groups/{group_id}/ledger")
async def ledger(group_id: str, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """For moderators: every member's balance and the statistics that reconcile with them."""
    balances, statistics = await credits.group_balances(ctx, principal, group_id)
    return {"balances": balances, "statistics": statistics_out(statistics)}


@router.get("/transfers/mine")
async def my_transfers(
    principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    found = await credits.my_transfers(ctx, principal, for_person=for_person)
    return {"items": [transfer_out(t) for t in found], "next_cursor": None}
