"""Dependencies shared by the routers: the use-case context, domain errors as problems."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.errors import problem_response

from learning_paths.domain.errors import InvalidContent, RuleBroken
from learning_paths.service import problems
from learning_paths.service.context import Context


async def _context(request: Request) -> Context:
    """`async`: FastAPI runs a plain `def` dependency in a worker thread (a thread hop per
    request on every route)."""
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(_context)]


def install_domain_problems(app: FastAPI) -> None:
    """Domain errors that reach the HTTP layer become 422 problems with their paths."""

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidContent)
        return problem_response(problems.invalid_content(exc), request)

    async def on_rule(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RuleBroken)
        return problem_response(problems.rule_broken(exc), request)

    app.add_exception_handler(InvalidContent, on_invalid)
    app.add_exception_handler(RuleBroken, on_rule)
