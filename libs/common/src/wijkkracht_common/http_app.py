"""Service defaults for the HTTP side: one call builds the FastAPI app every service shares.

`/healthz`, `/readyz`, `/metrics`, RFC 9457 problems, CORS allow-list, request metrics,
OpenTelemetry tracing, token verification. The service's composition root adds its routers.

Hardening every service gets from here:
- an unreachable or stalled database or broker answers 503 problem with `Retry-After`, never
  500 (`errors.install_problem_handlers`); the driver timeouts (`settings.db_*_ms`) bound how
  long a request waits for the database;
- `/readyz` runs its checks concurrently, each bounded by `readiness_timeout_seconds`;
- request bodies are limited to `settings.max_request_body_bytes` (FastAPI's `max_body_size`,
  counted while the body streams in, chunked bodies too): 413 problem. A route that takes
  more says so: `@router.post("/imports", max_body_size=50 * MIB)` (or on its router, or
  `app.include_router(router, max_body_size=settings.some_limit)`).
- back-pressure: at most `settings.max_concurrent_requests` requests run at once; the rest
  wait briefly or get 503 `service-busy` with `Retry-After` (`admission.py`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from wijkkracht_common import openapi_doc
from wijkkracht_common.admission import ARRIVED, AdmissionControlMiddleware
from wijkkracht_common.auth import JwksCache, TokenVerifier, http_jwks_fetcher
from wijkkracht_common.errors import install_problem_handlers, problem_response, too_large
from wijkkracht_common.observability import ServiceMetrics, get_logger
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.tenancy import set_correlation_id, set_tenant

ReadinessCheck = Callable[[], Awaitable[bool]]
_request_log = get_logger("wijkkracht.request")
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})

#: One mebibyte, for body limits: `max_body_size=50 * MIB`.
MIB = 1024 * 1024


def _is_probe(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in _PROBES


class RequestContextMiddleware:
    """Resets the request context and records request metrics. Plain ASGI, not
    `BaseHTTPMiddleware`, which costs a task and a stream per request."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_tenant(None)
        correlation = next(
            (v.decode() for k, v in scope.get("headers", ()) if k == b"x-correlation-id"), None
        )
        set_correlation_id(correlation)
        start = scope.get(ARRIVED) or time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            service = self.metrics.service_name
            elapsed = time.perf_counter() - start
            self.metrics.http_requests.labels(service, method, path, str(status)).inc()
            self.metrics.http_latency.labels(service, method, path).observe(elapsed)
            if not _is_probe(scope):
                # One line per request: the route's template, never the path's values, the
                # query or the body (they may name a person).
                _request_log.info(
                    "request",
                    method=method,
                    route=path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 1),
                )


class TooLargeAsProblem:
    """Starlette's body limiter answers a request whose declared `Content-Length` exceeds the
    limit with its own plain-text 413, outside every exception handler; this turns that one
    response into the platform's problem. (A body that grows past the limit while streaming
    raises inside the app and is rendered by `errors.install_problem_handlers`.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replacing = False

        async def send_wrapper(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start" and _is_plain_413(message):
                replacing = True
                return
            if not replacing:
                await send(message)
                return
            if message["type"] == "http.response.body" and not message.get("more_body"):
                problem = too_large(scope.get(MAX_BODY_SIZE_SCOPE_KEY))
                await problem_response(problem, Request(scope))(scope, receive, send)

        await self.app(scope, receive, send_wrapper)


def _is_plain_413(message: Message) -> bool:
    if message["status"] != 413:
        return False
    content_type = next(
        (v for k, v in message.get("headers", ()) if k.lower() == b"content-type"), b""
    )
    return content_type.startswith(b"text/plain")


class ServiceApp(FastAPI):
    """The FastAPI app of a service: FastAPI with every error answered as a problem, also the
    413 that the body limiter sends before any handler runs."""

    #: Wraps the whole stack, outside even Starlette's error middleware: back-pressure, so a
    #: shed request costs no middleware, log line or span (it is counted in
    #: `wk_http_shed_total`); an admitted request's wait is in its latency (`ARRIVED`).
    outer_layer: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack: ASGIApp = TooLargeAsProblem(super().build_middleware_stack())
        return self.outer_layer(stack) if self.outer_layer is not None else stack


def build_verifier(settings: BaseServiceSettings, jwks: JwksCache | None = None) -> TokenVerifier:
    return TokenVerifier(
        jwks or JwksCache(http_jwks_fetcher(settings.jwks_url)),
        issuer=settings.issuer,
        audience=settings.token_audience,
        algorithms=settings.token_algorithms,
        leeway_seconds=settings.token_leeway_seconds,
        cache_size=settings.token_cache_size,
    )


async def _bounded(check: ReadinessCheck, seconds: float) -> bool:
    """A readiness check's answer; one that fails or takes longer than `seconds` (a stalled
    dependency) is "not ready"."""
    try:
        async with asyncio.timeout(seconds):
            return bool(await check())
    except Exception:  # noqa: BLE001 - a failing check means "not ready"
        return False


def create_base_app(
    settings: BaseServiceSettings,
    *,
    title: str,
    prefix: str,
    metrics: ServiceMetrics,
    readiness: dict[str, ReadinessCheck],
    lifespan: Lifespan,
    cors_origins: Sequence[str] = (),
    verifier: TokenVerifier | None = None,
    description: str = "",
) -> FastAPI:
    app = ServiceApp(
        # FastAPI's own OpenTelemetry support: request spans only when tracing is enabled
        # (it costs CPU on every request); metrics and logs come from Prometheus/structlog.
        telemetry={
            "tracing": settings.tracing_enabled,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "exclude": _is_probe,
        },
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served below from packaged assets: no CDN, works offline
        redoc_url=None,
        max_body_size=settings.max_request_body_bytes,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.token_verifier = verifier or build_verifier(settings)
    app.state.api_prefix = prefix
    install_problem_handlers(app, retry_after_seconds=settings.unavailable_retry_after_seconds)
    openapi_doc.install(app, settings.issuer)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )

    if settings.max_concurrent_requests:
        app.outer_layer = functools.partial(
            AdmissionControlMiddleware,
            limit=settings.max_concurrent_requests,
            max_waiting=settings.admission_max_waiting,
            wait_seconds=settings.admission_wait_ms / 1000,
            retry_after_seconds=settings.busy_retry_after_seconds,
            metrics=metrics,
            exempt=_is_probe,
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)

    @app.get("/healthz", tags=["operations"], include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], include_in_schema=False)
    async def readyz() -> JSONResponse:
        timeout = settings.readiness_timeout_seconds
        answers = await asyncio.gather(*(_bounded(check, timeout) for check in readiness.values()))
        results = dict(zip(readiness, answers, strict=True))
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not-ready", "checks": results},
            status_code=200 if ready else 503,
        )

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title} — API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def json_body(data: Any) -> Any:
    """pydantic-friendly JSON for Idempotency-Key responses."""
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(data)
