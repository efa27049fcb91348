"""HTTP routes: parse, call a use case, present. No decisions and no database here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from wijkkracht_common.auth import CurrentPrincipal
from wijkkracht_common.idempotency import idempotency_key, idempotent

from skeleton.domain.bookmarks import Bookmark
from skeleton.service import bookmarks
from skeleton.service.context import Context

router = APIRouter(tags=["bookmarks"])


async def _context(request: Request) -> Context:
    """`async`: FastAPI runs a plain `def` dependency in a worker thread (a thread hop per
    request on every route)."""
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(_context)]


class BookmarkIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)


def _present(bookmark: Bookmark) -> dict[str, Any]:
    return bookmark.model_dump(mode="json", exclude={"person_id"})


@router.post("/bookmarks", status_code=201)
async def create_bookmark(
    body: BookmarkIn, principal: CurrentPrincipal, ctx: Ctx, request: Request
) -> JSONResponse:
    async def produce() -> tuple[int, Any]:
        return 201, _present(await bookmarks.create(ctx, principal, title=body.title))

    db = await ctx.runtime.storage.tenant_db(principal.tenant)
    return await idempotent(
        db,
        key=idempotency_key(request),
        scope=f"{principal.subject}:bookmarks",
        body=body.model_dump(),
        produce=produce,
    )


@router.get("/bookmarks/{bookmark_id}")
async def read_bookmark(bookmark_id: str, principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    return _present(await bookmarks.read(ctx, principal, bookmark_id))
