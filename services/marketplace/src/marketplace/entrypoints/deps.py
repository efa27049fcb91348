"""What every router shares: the use cases' context, and idempotent creation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, field_error
from wijkkracht_common.idempotency import idempotency_key, idempotent

from marketplace.service.context import Context


async def _context(request: Request) -> Context:
    """`async`: FastAPI runs a plain `def` dependency in a worker thread (a thread hop per
    request on every route)."""
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(_context)]


async def created(
    ctx: Ctx,
    principal: Principal,
    request: Request,
    *,
    route: str,
    body: Any,
    produce: Callable[[], Awaitable[Any]],
    status: int = 201,
) -> JSONResponse:
    """A creating POST: `Idempotency-Key` replays the first result."""

    async def run() -> tuple[int, Any]:
        return status, await produce()

    db = await ctx.db(principal.tenant)
    return await idempotent(
        db,
        key=idempotency_key(request),
        scope=f"{principal.subject}:{route}",
        body=body,
        produce=run,
    )


def required_key(request: Request) -> str:
    key = idempotency_key(request)
    if key is None or not 1 <= len(key) <= 200:
        raise InvalidInput(
            "Een overboeking vraagt een Idempotency-Key (1-200 tekens). / A transfer needs an "
            "Idempotency-Key (1-200 characters).",
            errors=[field_error("header.idempotency-key", "required, 1-200 characters")],
        )
    return key
