"""RFC 9457 problem details for every error a service returns.

Domain and use-case code raises `Problem` subclasses (or plain HTTP errors); the handlers
installed by `install_problem_handlers` render all of them, request validation errors
(with field-level `errors`) and unexpected exceptions (500, no stack trace) as
`application/problem+json`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wijkkracht_common.observability import get_logger

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:wijkkracht:problem:"

log = get_logger(__name__)

_TITLES: dict[int, str] = {
    400: "Ongeldig verzoek / Bad request",
    401: "Niet aangemeld / Not authenticated",
    403: "Geen toegang / Forbidden",
    404: "Niet gevonden / Not found",
    405: "Methode niet toegestaan / Method not allowed",
    409: "Conflict / Conflict",
    410: "Verdwenen / Gone",
    413: "Te groot / Payload too large",
    415: "Onbekend formaat / Unsupported media type",
    422: "Ongeldige invoer / Invalid input",
    429: "Te veel pogingen / Too many requests",
    500: "Interne fout / Internal error",
    503: "Tijdelijk niet beschikbaar / Service unavailable",
}


class Problem(Exception):
    """An error with an RFC 9457 representation."""

    status: int = 400
    kind: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        kind: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if kind is not None:
            self.kind = kind
        self.title = title or _TITLES.get(self.status, "Fout / Error")
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class NotFound(Problem):
    status, kind = 404, "not-found"


class Conflict(Problem):
    status, kind = 409, "conflict"


class Forbidden(Problem):
    status, kind = 403, "forbidden"


class Unauthorized(Problem):
    status, kind = 401, "unauthorized"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kwargs)


class InvalidInput(Problem):
    status, kind = 422, "validation-error"


class TooManyRequests(Problem):
    status, kind = 429, "too-many-requests"


class ServiceUnavailable(Problem):
    status, kind = 503, "service-unavailable"


def field_error(field: str, message: str, code: str = "invalid") -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(str(request.url.path) if request is not None else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        # ("body", "email") -> "email"; keep query/path/header prefixes, they tell where.
        if loc and loc[0] == "body":
            loc = loc[1:]
        errors.append(
            {
                "field": ".".join(loc) or "body",
                "code": err.get("type", "invalid"),
                "message": err.get("msg", "invalid"),
            }
        )
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            InvalidInput(
                "De invoer is ongeldig; zie 'errors'. / The input is invalid; see 'errors'.",
                errors=_validation_errors(exc),
            ),
            request,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(
            Problem(
                detail,
                status=exc.status_code,
                kind=kind,
                headers=dict(exc.headers) if exc.headers else None,
            ),
            request,
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            Problem(
                "Er ging iets mis aan onze kant. / Something went wrong on our side.",
                status=500,
                kind="internal-error",
            ),
            request,
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
