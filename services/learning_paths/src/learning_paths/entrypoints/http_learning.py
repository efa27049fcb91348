"""The resident's routes: start a module, read steps, answer, complete, share, print."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from wijkkracht_common.auth import CurrentPrincipal, require_person
from wijkkracht_common.idempotency import idempotency_key, idempotent
from wijkkracht_common.pagination import CursorParam, LimitParam

from learning_paths.domain.answers import AnswerInput
from learning_paths.domain.content import Variant
from learning_paths.entrypoints.deps import Ctx
from learning_paths.entrypoints.views import (
    answer_view,
    enrolment_view,
    offer_view,
    placement_view,
    step_summary,
    step_view,
)
from learning_paths.presentation.pages import page
from learning_paths.service import enrolments, placement, problems, reminders

# Everything here is a person's own learning or staff work: machine tokens get 403.
router = APIRouter(tags=["learning"], dependencies=[Depends(require_person)])

PC4 = Annotated[str | None, Query(pattern=r"^[1-9][0-9]{3}$", description="for local offers")]


class EnrolmentIn(BaseModel):
    content_id: str = Field(min_length=1, max_length=100)
    variant: Variant = "nl"
    entry_step: str | None = Field(default=None, max_length=130)


class SharingIn(BaseModel):
    shared: bool


class RemindersIn(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    reminders: bool = True
    digest: bool = True


@router.post("/enrolments", status_code=201)
async def start(
    body: EnrolmentIn, principal: CurrentPrincipal, ctx: Ctx, request: Request
) -> JSONResponse:
    """Start a module or path on your own; on a path you were placed in, at the suggested
    step unless you choose another (`entry_step`)."""

    async def produce() -> tuple[int, Any]:
        made = await enrolments.start_own(
            ctx, principal, body.content_id, variant=body.variant, entry_step=body.entry_step
        )
        return 201, enrolment_view(made, ctx.now())

    db = await ctx.runtime.storage.tenant_db(principal.tenant)
    return await idempotent(
        db,
        key=idempotency_key(request),
        scope=f"{principal.subject}:enrolments",
        body=body.model_dump(),
        produce=produce,
    )


@router.get("/me/enrolments")
async def my_enrolments(
    principal: CurrentPrincipal, ctx: Ctx, limit: LimitParam = 20, cursor: CursorParam = None
) -> dict[str, Any]:
    items, next_cursor = await enrolments.mine(ctx, principal, limit=limit, cursor=cursor)
    now = ctx.now()
    return {"items": [enrolment_view(e, now) for e in items], "next_cursor": next_cursor}


@router.get("/me/placements")
async def my_placements(principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    """Where we suggest you start a long path, and why."""
    return {"items": [placement_view(p) for p in await placement.mine(ctx, principal)]}


@router.get("/enrolments/{enrolment_id}")
async def read_enrolment(
    enrolment_id: str, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    view = await enrolments.view(ctx, principal, enrolment_id)
    shown = view.version.variant(view.enrolment.variant)
    return {
        **enrolment_view(view.enrolment, ctx.now()),
        "title": shown.title,
        "summary": shown.summary,
        "steps": [
            {
                **step_summary(s),
                "required": s.id in view.enrolment.required_steps,
                "completed": view.enrolment.progress_of(s.id) is not None,
                "answered": s.id in view.answers,
                "shared": view.answers[s.id].shared if s.id in view.answers else False,
            }
            for s in shown.steps
        ],
    }


@router.post("/enrolments/{enrolment_id}/open")
async def open_enrolment(
    enrolment_id: str, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return enrolment_view(await enrolments.open_(ctx, principal, enrolment_id), ctx.now())


@router.post("/enrolments/{enrolment_id}/move-to-latest")
async def move_to_latest(
    enrolment_id: str, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """Follow the newest published version (progress on steps that remain is kept)."""
    return enrolment_view(await enrolments.move_to_latest(ctx, principal, enrolment_id), ctx.now())


@router.get("/enrolments/{enrolment_id}/steps/{step_id}")
async def read_step(
    enrolment_id: str,
    step_id: str,
    principal: CurrentPrincipal,
    ctx: Ctx,
    request: Request,
    pc4: PC4 = None,
) -> dict[str, Any]:
    view = await enrolments.view(ctx, principal, enrolment_id)
    step = view.version.variant(view.enrolment.variant).step(step_id)
    if step is None:
        raise problems.not_found()
    answer = view.answers.get(step.id)
    body: dict[str, Any] = {
        "step": step_view(step),
        "answer": answer_view(answer) if answer else None,
        "completed": view.enrolment.progress_of(step.id) is not None,
    }
    if step.kind == "local_offer":
        offers = await ctx.local_offers.near(
            authorization=request.headers.get("authorization", ""),
            categories=step.categories,
            dimensions=step.dimensions,
            pc4=pc4,
            limit=5,
        )
        body["offers"] = [offer_view(o) for o in offers]
    return body


@router.put("/enrolments/{enrolment_id}/steps/{step_id}/answer")
async def save_answer(
    enrolment_id: str, step_id: str, body: AnswerInput, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return answer_view(await enrolments.save_answer(ctx, principal, enrolment_id, step_id, body))


@router.post("/enrolments/{enrolment_id}/steps/{step_id}/complete")
async def complete_step(
    enrolment_id: str, step_id: str, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    made = await enrolments.complete_step(ctx, principal, enrolment_id, step_id)
    return enrolment_view(made, ctx.now())


@router.put("/enrolments/{enrolment_id}/steps/{step_id}/sharing")
async def share_step(
    enrolment_id: str, step_id: str, body: SharingIn, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """Share this step's answer with the professionals who may see your progress."""
    made = await enrolments.share_step(ctx, principal, enrolment_id, step_id, body.shared)
    return answer_view(made)


@router.get("/enrolments/{enrolment_id}/steps/{step_id}/print", response_class=HTMLResponse)
async def print_step(
    enrolment_id: str,
    step_id: str,
    principal: CurrentPrincipal,
    ctx: Ctx,
    request: Request,
    pc4: PC4 = None,
) -> HTMLResponse:
    """The step on paper, with your own answers filled in."""
    view = await enrolments.view(ctx, principal, enrolment_id)
    shown = view.version.variant(view.enrolment.variant)
    step = shown.step(step_id)
    if step is None:
        raise problems.not_found()
    offers = {}
    if step.kind == "local_offer":
        offers[step.id] = await ctx.local_offers.near(
            authorization=request.headers.get("authorization", ""),
            categories=step.categories,
            dimensions=step.dimensions,
            pc4=pc4,
            limit=5,
        )
    return HTMLResponse(page(shown, [step], answers=view.answers, offers=offers))


@router.get("/me/reminders")
async def my_reminders(principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    return (await reminders.read(ctx, principal)).model_dump(mode="json")


@router.put("/me/reminders")
async def set_reminders(body: RemindersIn, principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    """Reminders of homework due soon and a weekly digest, by mail (one mail per person
    per pass, never one per event)."""
    made = await reminders.save(
        ctx, principal, email=body.email, reminders=body.reminders, digest=body.digest
    )
    return made.model_dump(mode="json")


@router.delete("/me/reminders", status_code=204)
async def stop_reminders(principal: CurrentPrincipal, ctx: Ctx) -> Response:
    await reminders.remove(ctx, principal)
    return Response(status_code=204)
