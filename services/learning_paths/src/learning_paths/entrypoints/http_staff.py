"""Professionals' routes, always on behalf of one of their organisations: assign homework,
see a resident's progress (with consent; 404 without), override a placement."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from wijkkracht_common.auth import CurrentPrincipal, require_person
from wijkkracht_common.idempotency import idempotency_key, idempotent
from wijkkracht_common.pagination import CursorParam, LimitParam, decode_cursor, encode_cursor

from learning_paths.domain.content import Variant
from learning_paths.domain.enrolment import DisplayStatus
from learning_paths.entrypoints.deps import Ctx
from learning_paths.entrypoints.views import (
    assignment_row,
    enrolment_view,
    placement_view,
    progress_row,
    resident_progress_view,
)
from learning_paths.service import enrolments, placement, progress

# Everything here is a person's own learning or staff work: machine tokens get 403.
router = APIRouter(
    prefix="/organisations/{organisation}",
    tags=["professionals"],
    dependencies=[Depends(require_person)],
)


class AssignmentIn(BaseModel):
    person_id: str = Field(min_length=1, max_length=100)
    content_id: str = Field(min_length=1, max_length=100)
    due_at: datetime | None = None
    note: str = Field(default="", max_length=2000)
    variant: Variant = "nl"


class OverrideIn(BaseModel):
    entry_step: str = Field(min_length=1, max_length=130)


def page_of(
    items: list[Any], key: str, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """Cursor pagination of a list computed in memory (sorted by `key`)."""
    ordered = sorted(items, key=lambda item: item[key])
    if cursor:
        after = str(decode_cursor(cursor).get("id", ""))
        ordered = [item for item in ordered if item[key] > after]
    if len(ordered) <= limit:
        return ordered, None
    return ordered[:limit], encode_cursor({"id": ordered[limit - 1][key]})


@router.post("/assignments", status_code=201)
async def assign(
    organisation: str, body: AssignmentIn, principal: CurrentPrincipal, ctx: Ctx, request: Request
) -> JSONResponse:
    async def produce() -> tuple[int, Any]:
        made = await enrolments.assign(
            ctx,
            principal,
            organisation=organisation,
            person_id=body.person_id,
            content_id=body.content_id,
            due_at=body.due_at,
            note=body.note,
            variant=body.variant,
        )
        return 201, enrolment_view(made, ctx.now())

    db = await ctx.runtime.storage.tenant_db(principal.tenant)
    return await idempotent(
        db,
        key=idempotency_key(request),
        scope=f"{principal.subject}:{organisation}:assignments",
        body=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/assignments")
async def list_assignments(
    organisation: str,
    principal: CurrentPrincipal,
    ctx: Ctx,
    status: Annotated[DisplayStatus | None, Query()] = None,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Homework of the organisation; status and progress only where the resident consents."""
    rows = await progress.assignments(ctx, principal, organisation, status=status)
    now = ctx.now()
    items, next_cursor = page_of(
        [assignment_row(r, now) for r in rows], "enrolment_id", limit, cursor
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/residents/{person_id}/progress")
async def resident_progress(
    organisation: str, person_id: str, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    view = await progress.resident_progress(ctx, principal, organisation, person_id)
    placements = await (await ctx.reader(principal.tenant)).placements_of_person(person_id)
    return resident_progress_view(view, placements, ctx.now())


@router.get("/enrolments/{enrolment_id}")
async def enrolment_progress(
    organisation: str, enrolment_id: str, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    row = await progress.enrolment_progress(ctx, principal, organisation, enrolment_id)
    return progress_row(row, ctx.now())


@router.put("/residents/{person_id}/placements/{path_id}")
async def override_placement(
    organisation: str,
    person_id: str,
    path_id: str,
    body: OverrideIn,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> dict[str, Any]:
    """Set another entry step than the one suggested (recorded with your organisation)."""
    made = await placement.override(
        ctx,
        principal,
        organisation=organisation,
        person_id=person_id,
        path_id=path_id,
        entry_step=body.entry_step,
    )
    return placement_view(made)
