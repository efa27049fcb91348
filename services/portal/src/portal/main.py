"""Composition root: `uvicorn --factory portal.main:create_app` (port 8080)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from wijkkracht_common.observability import get_logger, setup

from portal.api import Api, ApiError, SignInRequired
from portal.oidc import OidcClient
from portal.pages import (
    admin,
    analyst,
    auth,
    learning,
    market,
    mydata,
    professional,
    public,
    results,
    selftest,
)
from portal.pages.auth import login_path
from portal.security import SecurityHeaders
from portal.sessions import SessionStore
from portal.settings import Settings
from portal.timing import PageTimer, page_histogram
from portal.web import FormExpired, LoginNeeded, NotAllowed, build_templates, page_context

STATIC = Path(__file__).parent / "static"
SWEEP_SECONDS = 60.0
log = get_logger(__name__)


def create_app(
    settings: Settings | None = None, *, http: httpx2.AsyncClient | None = None
) -> FastAPI:
    settings = settings or Settings()
    setup(settings.service_name, settings)
    client = http or httpx2.AsyncClient(
        timeout=settings.api_timeout_seconds,
        limits=httpx2.Limits(max_connections=200, max_keepalive_connections=50),
    )
    sessions = SessionStore(
        idle_seconds=settings.session_idle_seconds, max_seconds=settings.session_max_seconds
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                await asyncio.sleep(SWEEP_SECONDS)
                sessions.sweep()

        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if http is None:
                await client.aclose()

    app = FastAPI(
        title="Wijkkracht portal",
        # FastAPI's own OpenTelemetry support is on by default (spans, metrics and logs per
        # request): only request spans, and only when tracing is enabled, as in the services.
        telemetry={
            "tracing": settings.tracing_enabled,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
        },
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # HTML pages, no API of its own
    )
    oidc = OidcClient(settings, client)
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.oidc = oidc
    app.state.api = Api(settings, client, oidc)
    app.state.templates = build_templates()
    registry = CollectorRegistry()
    app.add_middleware(
        SecurityHeaders, secure=settings.cookie_secure, max_age=settings.session_max_seconds
    )
    app.add_middleware(PageTimer, histogram=page_histogram(registry))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        public,
        auth,
        selftest,
        results,
        learning,
        market,
        mydata,
        professional,
        admin,
        analyst,
    ):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            await asyncio.wait_for(oidc.discovery(), settings.readiness_timeout_seconds)
            ready = True
        except (httpx2.HTTPError, TimeoutError, ValueError):
            ready = False
        return JSONResponse(
            {"status": "ready" if ready else "not-ready", "checks": {"identity": ready}},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    install_error_pages(app)
    return app


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginNeeded)
    async def login_needed(request: Request, error: LoginNeeded) -> Response:
        return RedirectResponse(login_path(error.next_path), status_code=303)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, _: SignInRequired) -> Response:
        page = await page_context(request)
        page.flash("session_expired")
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(login_path(target), status_code=303)

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, _: NotAllowed) -> Response:
        page = await page_context(request)
        return page.render(
            "error.html", status=403, title_key="forbidden_title", text_key="forbidden_text"
        )

    @app.exception_handler(FormExpired)
    async def form_expired(request: Request, _: FormExpired) -> Response:
        page = await page_context(request)
        return page.render("error.html", status=403, title_key="csrf_title", text_key="csrf_text")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        page = await page_context(request)
        if error.status == 404:
            return page.render(
                "error.html", status=404, title_key="not_found_title", text_key="not_found_text"
            )
        if error.status == 403:
            return page.render(
                "error.html", status=403, title_key="forbidden_title", text_key="forbidden_text"
            )
        if error.status == 503:
            # a service sheds load or is unavailable: pass its back-pressure on to the reader
            busy = page.render(
                "error.html", status=503, title_key="busy_title", text_key="busy_text"
            )
            wait = (error.retry_after or "").strip()
            busy.headers["Retry-After"] = wait if wait.isdigit() else "5"
            return busy
        log.warning("api error", status=error.status, problem=error.problem)
        return page.render(
            "error.html",
            status=502,
            title_key="error_title",
            text_key="error_try_again",
            detail=error.detail(page.lang),
        )

    @app.exception_handler(httpx2.HTTPError)
    async def api_unreachable(request: Request, error: httpx2.HTTPError) -> Response:
        log.warning("api unreachable", error=str(error))
        page = await page_context(request)
        return page.render(
            "error.html", status=503, title_key="error_title", text_key="error_try_again"
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/static/"):
            return PlainTextResponse(str(error.detail), status_code=error.status_code)
        page = await page_context(request)
        if error.status_code == 404:
            return page.render(
                "error.html", status=404, title_key="not_found_title", text_key="not_found_text"
            )
        return page.render(
            "error.html",
            status=error.status_code,
            title_key="error_title",
            text_key="error_try_again",
        )
