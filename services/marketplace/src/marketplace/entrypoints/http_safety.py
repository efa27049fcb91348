"""HTTP: reports and their review, blocks, certificates of conduct (VOG)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.auth import PersonPrincipal

from marketplace.entrypoints.deps import Ctx, created
from marketplace.entrypoints.schemas import (
    BlockIn,
    CertificateIn,
    DecisionIn,
    ReportIn,
    certificate_out,
    report_out,
)
from marketplace.service import safety

router = APIRouter(tags=["safety"])


@router.post("/reports", status_code=201)
async def report(
    body: ReportIn, principal: PersonPrincipal, ctx: Ctx, request: Request
) -> JSONResponse:
    """Report a post or a message: it is hidden from others until a moderator decides."""

    async def produce() -> dict[str, Any]:
        made = await safety.report(
            ctx, principal, body.target, body.target_id, body.reason, body.note
        )
        return report_out(made)

    return await created(
        ctx, principal, request, route="reports", body=body.model_dump(mode="json"), produce=produce
    )


@router.get("/reports")
async def open_reports(
    principal: PersonPrincipal,
    ctx: Ctx,
    group_id: str | None = Query(default=None, max_length=64),
) -> dict[str, Any]:
    """Open reports of a group (its moderators) or of the tenant (its moderators)."""
    found = await safety.open_reports(ctx, principal, group_id)
    return {"items": [report_out(r) for r in found], "next_cursor": None}


@router.post("/reports/{report_id}/decision")
async def decide(
    report_id: str, body: DecisionIn, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return report_out(await safety.decide(ctx, principal, report_id, uphold=body.uphold))


@router.post("/blocks", status_code=201)
async def block(body: BlockIn, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    made = await safety.block(ctx, principal, person_id=body.person_id, post_id=body.post_id)
    return {"blocked": True, "at": made.at.isoformat()}


@router.delete("/blocks/{person_id}", status_code=204)
async def unblock(person_id: str, principal: PersonPrincipal, ctx: Ctx) -> None:
    await safety.unblock(ctx, principal, person_id)


@router.post("/certificates", status_code=201)
async def record_certificate(
    body: CertificateIn, principal: PersonPrincipal, ctx: Ctx, request: Request
) -> JSONResponse:
    """An organisation records that it saw a volunteer's VOG (valid for 3 years)."""

    async def produce() -> dict[str, Any]:
        made = await safety.record_certificate(
            ctx, principal, body.organisation, body.person_id, body.issued_on
        )
        return certificate_out(made)

    return await created(
        ctx,
        principal,
        request,
        route="certificates",
        body=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/certificates")
async def certificates(
    principal: PersonPrincipal,
    ctx: Ctx,
    person_id: str | None = Query(default=None, max_length=64),
) -> dict[str, Any]:
    found = await safety.certificates(ctx, principal, person_id)
    return {"items": [certificate_out(c) for c in found], "next_cursor": None}
