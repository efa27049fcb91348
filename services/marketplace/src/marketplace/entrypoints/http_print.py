"""HTTP: a neighbourhood's printable notice board and its phone summary."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, PlainTextResponse
from wijkkracht_common.auth import Principal, require_roles

from marketplace.entrypoints.deps import Ctx
from marketplace.presentation.notice_board import render_html, render_phone
from marketplace.service.notice_board import BOARD_ROLES, board

router = APIRouter(tags=["print"])
Board = Depends(require_roles(*BOARD_ROLES))


@router.get("/neighbourhoods/{code}/notice-board", response_class=HTMLResponse)
async def notice_board(code: str, ctx: Ctx, principal: Principal = Board) -> HTMLResponse:
    """A page to print for a community centre's notice board."""
    return HTMLResponse(render_html(await board(ctx, principal, code)))


@router.get("/neighbourhoods/{code}/phone-summary", response_class=PlainTextResponse)
async def phone_summary(code: str, ctx: Ctx, principal: Principal = Board) -> PlainTextResponse:
    """What a broker reads out to a resident on the phone."""
    return PlainTextResponse(render_phone(await board(ctx, principal, code)))
