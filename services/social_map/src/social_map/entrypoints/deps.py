"""FastAPI dependency aliases and the mapping of domain errors to RFC 9457 problems."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from wijkkracht_common.errors import PROBLEM_JSON, InvalidInput, problem_response

from social_map.domain.errors import DomainValidationError
from social_map.service.context import ServiceContext


async def get_ctx(request: Request) -> ServiceContext:
    """`async`: FastAPI runs a plain `def` dependency in a worker thread (a thread hop per
    request on every route)."""
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


class ProblemOut(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


_PROBLEM_MEANING = {
    401: "No valid access token.",
    403: "The caller's roles do not allow this.",
    404: "Not found in the caller's tenant.",
    422: "Invalid input (`errors` names the fields).",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for errors answered as `application/problem+json`."""
    schema = ProblemOut.model_json_schema()
    return {
        status: {
            "description": _PROBLEM_MEANING[status],
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }
