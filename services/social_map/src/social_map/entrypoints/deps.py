"""FastAPI dependency aliases and the mapping of domain errors to RFC 9457 problems."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.errors import InvalidInput, problem_response

from social_map.domain.errors import DomainValidationError
from social_map.service.context import ServiceContext


def get_ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServiceContext, Depends(get_ctx)]


def invalid(exc: DomainValidationError) -> InvalidInput:
    return InvalidInput(
        "De invoer is ongeldig; zie 'errors'. / The input is invalid; see 'errors'.",
        errors=[{"field": e.field, "code": "invalid", "message": e.message} for e in exc.errors],
    )


def install_domain_handlers(app: FastAPI) -> None:
    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainValidationError)
        return problem_response(invalid(exc), request)

    app.add_exception_handler(DomainValidationError, on_domain)
