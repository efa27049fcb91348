"""RFC 9457 problem details for every error a service returns.

Domain and use-case code raises `Problem` subclasses (or plain HTTP errors); the handlers
installed by `install_problem_handlers` render all of them, request validation errors
(with field-level `errors`), a body over the limit (413), an unreachable database or broker
(503 with `Retry-After`, never 500) and unexpected exceptions (500, no stack trace) as
`application/problem+json`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import nats.errors
import nats.js.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from wijkkracht_common.observability import get_logger
from wijkkracht_common.storage import TRANSIENT_ERRORS

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


#: nats-py's errors that mean "the broker is unreachable or did not answer in time" (the same
#: call may succeed later), as opposed to a wrong subject or payload.
BROKER_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    nats.errors.TimeoutError,  # also flush, fetch and drain time-outs
    nats.errors.NoRespondersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,
)

Dependency = Literal["database", "broker"]

_UNAVAILABLE_TEXTS: dict[Dependency, str] = {
    "database": "De database is tijdelijk niet bereikbaar; probeer het straks opnieuw. / The "
    "database is temporarily unavailable; please try again shortly.",
    "broker": "De berichtenverwerking is tijdelijk niet bereikbaar; probeer het straks "
    "opnieuw. / Messaging is temporarily unavailable; please try again shortly.",
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, and the members of exception groups."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def unavailable_dependency(error: BaseException) -> Dependency | None:
    """ "database" or "broker" when `error` (or what caused it) says that one is unreachable
    or did not answer in time, else None."""
    for current in _chain(error):
        if isinstance(current, TRANSIENT_ERRORS):
            return "database"
        if isinstance(current, BROKER_UNAVAILABLE_ERRORS):
            return "broker"
    return None


def unavailable(dependency: Dependency, retry_after_seconds: int) -> ServiceUnavailable:
    return ServiceUnavailable(
        _UNAVAILABLE_TEXTS[dependency], headers={"Retry-After": str(retry_after_seconds)}
    )


def too_large(limit: int | None) -> Problem:
    """413 for a request body over the route's limit (`limit` bytes, when known)."""
    if limit is None:
        detail = "Het verzoek is te groot. / The request is too large."
    else:
        detail = (
            f"Het verzoek is te groot (max {limit} bytes). / The request is too large "
            f"(max {limit} bytes)."
        )
    extra: dict[str, Any] = {} if limit is None else {"max_bytes": limit}
    # Close the connection: the client may still be sending the rest of the body.
    return Problem(
        detail, status=413, kind="payload-too-large", headers={"Connection": "close"}, **extra
    )


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


def install_problem_handlers(app: FastAPI, *, retry_after_seconds: int = 5) -> None:
    """Render every error as a problem. `retry_after_seconds`: the `Retry-After` of the 503
    answered while the database or the broker is unreachable."""

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
        if exc.status_code == 413:  # the body limit (FastAPI's `max_body_size`)
            return problem_response(too_large(request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)), request)
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

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        dependency = unavailable_dependency(exc) or "database"
        log.warning(
            "dependency unavailable",
            dependency=dependency,
            error=type(exc).__name__,
            path=request.url.path,
        )
        return problem_response(unavailable(dependency, retry_after_seconds), request)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if unavailable_dependency(exc) is not None:  # wrapped in another error or a group
            return await on_unavailable(request, exc)
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
    for error in (*TRANSIENT_ERRORS, *BROKER_UNAVAILABLE_ERRORS):
        if issubclass(error, Exception):  # (all are; the tuple is typed as BaseException)
            app.add_exception_handler(error, on_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
