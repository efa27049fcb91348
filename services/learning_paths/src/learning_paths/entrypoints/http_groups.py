"""Group courses (cohorts) of an organisation, and usage figures for admins and analysts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from wijkkracht_common.auth import CurrentPrincipal, require_person
from wijkkracht_common.idempotency import idempotency_key, idempotent

from learning_paths.domain.cohorts import MAX_MEMBERS, ScheduledStep
from learning_paths.entrypoints.deps import Ctx
from learning_paths.entrypoints.views import cohort_view, enrolment_view
from learning_paths.service import cohorts, usage

# Everything here is a person's own learning or staff work: machine tokens get 403.
router = APIRouter(tags=["groups and figures"], dependencies=[Depends(require_person)])


class CohortIn(BaseModel):
    content_id: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=200)
    start_on: date
    every_days: int = Field(default=7, ge=1, le=60, description="a step every n days")
    schedule: list[ScheduledStep] | None = Field(default=None, description="or dates per step")
    members: list[str] = Field(default_factory=list, max_length=MAX_MEMBERS)


class MembersIn(BaseModel):
    person_ids: list[str] = Field(min_length=1, max_length=MAX_MEMBERS)


@router.post("/organisations/{organisation}/cohorts", status_code=201)
async def create_cohort(
    organisation: str, body: CohortIn, principal: CurrentPrincipal, ctx: Ctx, request: Request
) -> JSONResponse:
    async def produce() -> tuple[int, Any]:
        made = await cohorts.create(
            ctx,
            principal,
            organisation=organisation,
            content_id=body.content_id,
            title=body.title,
            start_on=body.start_on,
            every_days=body.every_days,
            schedule=body.schedule,
            members=body.members,
        )
        return 201, cohort_view(made)

    db = await ctx.runtime.storage.tenant_db(principal.tenant)
    return await idempotent(
        db,
        key=idempotency_key(request),
        scope=f"{principal.subject}:{organisation}:cohorts",
        body=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/organisations/{organisation}/cohorts")
async def list_cohorts(organisation: str, principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    found = await cohorts.of_organisation(ctx, principal, organisation)
    return {"items": [cohort_view(c) for c in found]}


@router.get("/organisations/{organisation}/cohorts/{cohort_id}")
async def read_cohort(
    organisation: str, cohort_id: str, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """The group; a member's progress only where that member consents."""
    cohort, rows = await cohorts.progress(ctx, principal, organisation, cohort_id)
    now = ctx.now()
    return {
        **cohort_view(cohort),
        "members": [
            {
                "person_id": r.person_id,
                "progress_visible": r.progress_visible,
                "enrolment": enrolment_view(r.enrolment, now) if r.enrolment else None,
            }
            for r in rows
        ],
    }


@router.post("/organisations/{organisation}/cohorts/{cohort_id}/members")
async def add_members(
    organisation: str, cohort_id: str, body: MembersIn, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    made = await cohorts.add_members(ctx, principal, organisation, cohort_id, body.person_ids)
    return cohort_view(made)


@router.get("/usage")
async def usage_figures(
    principal: CurrentPrincipal,
    ctx: Ctx,
    by: usage.GroupBy = "module",
    organisation: Annotated[str | None, Query(max_length=31)] = None,
) -> dict[str, Any]:
    """Enrolments, completions, median days to complete and drop-off per step, with the
    survey results per module; cells below the tenant's k are suppressed (null)."""
    found = await usage.figures(ctx, principal, by=by, organisation=organisation)
    return {
        "by": found.by,
        "organisation": found.organisation,
        "k": found.k,
        "totals": found.totals,
        "rows": [
            {
                "key": r.key,
                "title": found.titles.get(r.key),
                "suppressed": r.suppressed,
                "enrolments": r.enrolments,
                "completions": r.completions,
                "median_days_to_complete": r.median_days_to_complete,
                "drop_off": r.drop_off,
                "surveys": [
                    {"family": s.family, "dimension": s.dimension, "count": s.count, "mean": s.mean}
                    for s in r.surveys
                ],
            }
            for r in found.rows
        ],
    }
