"""Invitations by professionals and volunteers; opening them as the invited resident."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from wijkkracht_common.auth import CurrentPrincipal
from wijkkracht_common.errors import Forbidden
from wijkkracht_common.idempotency import idempotent
from wijkkracht_common.pagination import CursorParam, LimitParam, paginate

from questionnaires.adapters.documents import INVITATIONS
from questionnaires.entrypoints.deps import ID, Ctx
from questionnaires.service import invitations
from questionnaires.service.consents import STAFF_ROLES
from questionnaires.service.problems import not_found

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
    body: InviteRequest, request: Request, principal: CurrentPrincipal, ctx: Ctx
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

    db = await ctx.db(principal.tenant)
    return await idempotent(
        db,
        key=request.headers.get("idempotency-key"),
        scope=f"{principal.subject}:invite",
        body=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("")
async def list_invitations(
    principal: CurrentPrincipal,
    ctx: Ctx,
    organisation: str = Query(max_length=31),
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Invitations of an organisation (its professionals and volunteers)."""
    if not principal.roles_in(organisation).intersection(STAFF_ROLES):
        raise Forbidden(
            "Geen toegang tot de uitnodigingen van deze organisatie. / No access to "
            "this organisation's invitations.",
            required_roles=list(STAFF_ROLES),
        )
    db = await ctx.db(principal.tenant)
    docs, next_cursor = await paginate(
        db[INVITATIONS], {"organisation": organisation}, limit=limit, cursor=cursor
    )
    return {"items": [invitations.present(d) for d in docs], "next_cursor": next_cursor}


@router.get("/{invitation_id}")
async def get_invitation(
    invitation_id: str, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """The invited resident opening it marks it `opened`; staff of the organisation see it."""
    doc = await invitations.load(ctx, principal.tenant, invitation_id)
    if doc.get("person_id") is not None and doc["person_id"] == principal.person_id:
        doc = await invitations.mark_opened(ctx, principal.tenant, doc)
    elif not invitations.is_staff_of(principal, doc):
        raise not_found("Uitnodiging")
    return invitations.present(doc)


@router.post("/{invitation_id}/reminders")
async def remind(invitation_id: str, principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    doc = await invitations.load(ctx, principal.tenant, invitation_id)
    if not invitations.is_staff_of(principal, doc):
        raise not_found("Uitnodiging")
    return await invitations.remind(ctx, principal, doc)
