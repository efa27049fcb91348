"""Invitations by professionals and volunteers; opening them as the invited resident."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from wijkkracht_common.auth import PersonPrincipal
from wijkkracht_common.pagination import CursorParam, LimitParam

from questionnaires.entrypoints.deps import ID, Ctx
from questionnaires.service import invitations

router = APIRouter(prefix="/invitations", tags=["invitations"])
# Deliberately simple: the mail relay reports undeliverable addresses.
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$"


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(max_length=31)
    instrument_id: ID
    person_id: ID | None = Field(default=None, description="a resident with an account")
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=EMAIL_PATTERN,
        description="a resident without an account",
    )
    due_at: datetime | None = Field(default=None, description="respond before (optional)")
    language: Literal["nl", "en"] | None = None


@router.post("", status_code=201)
async def invite(
    body: InviteRequest, request: Request, principal: PersonPrincipal, ctx: Ctx
) -> JSONResponse:
    async def produce() -> tuple[int, Any]:
        return 201, await invitations.create(
            ctx,
            principal,
            organisation=body.organisation,
            instrument_id=body.instrument_id,
            person_id=body.person_id,
            email=str(body.email) if body.email else None,
            due_at=body.due_at,
            language=body.language,
        )

    return await ctx.uow.idempotent(
        principal.tenant,
        key=request.headers.get("idempotency-key"),
        scope=f"{principal.subject}:invite",
        body=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("")
async def list_invitations(
    principal: PersonPrincipal,
    ctx: Ctx,
    organisation: str = Query(max_length=31),
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Invitations of an organisation (its professionals and volunteers)."""
    items, next_cursor = await invitations.organisation_page(
        ctx, principal, organisation, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{invitation_id}")
async def get_invitation(
    invitation_id: str, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """The invited resident opening it marks it `opened`; staff of the organisation see it."""
    return await invitations.view(ctx, principal, invitation_id)


@router.post("/{invitation_id}/reminders")
async def remind(invitation_id: str, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """Another e-mail (e-mail invitations) and the counter; staff of the organisation."""
    return await invitations.remind(ctx, principal, invitation_id)
