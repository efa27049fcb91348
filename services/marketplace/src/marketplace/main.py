"""Composition root: the one place that wires settings, runtime, consumers, jobs and routes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.auth import TokenVerifier
from wijkkracht_common.errors import Conflict, InvalidInput, field_error, problem_response
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.runtime import ServiceRuntime

from marketplace.adapters.repositories import INDEXES
from marketplace.domain.errors import DomainValidationError, StateConflict
from marketplace.entrypoints import http
from marketplace.entrypoints.consumers import register_consumers
from marketplace.service import expiry, notifications
from marketplace.service.context import Clock, Context, system_clock
from marketplace.settings import Settings

PREFIX = "/marketplace/v1"


def install_domain_errors(app: FastAPI) -> None:
    """Domain refusals as problems: field errors → 422, a state that forbids it → 409."""

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainValidationError)
        problem = InvalidInput(
            "De invoer is ongeldig; zie 'errors'. / The input is invalid; see 'errors'.",
            errors=[field_error(e.field, e.message) for e in exc.errors],
        )
        return problem_response(problem, request)

    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StateConflict)
        return problem_response(Conflict(exc.text, kind=exc.kind), request)

    app.add_exception_handler(DomainValidationError, invalid)
    app.add_exception_handler(StateConflict, conflict)


def create_app(
    settings: Settings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock = system_clock,
) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, indexes=INDEXES, with_mail=True)
    ctx = Context(runtime, settings, clock)
    register_consumers(ctx)

    async def sweep() -> object:
        return await expiry.sweep(ctx)

    async def digests() -> object:
        total = 0
        for tenant in await runtime.storage.tenants():
            total += await notifications.send_digests(ctx, tenant)
        if total:
            runtime.notify_mail()
        return total

    # Before the runtime stops (relay, storage): new posts get 503, those queued are
    # committed with their events (service/publishing.py).
    runtime.on_stopping(ctx.publications.stop)

    app = create_base_app(
        settings,
        title="Wijkkracht marketplace",
        description="Neighbourhood demand and supply: requests, offers, vacancies, groups, "
        "brokers for residents who are not online, matching, messages, time credits.",
        prefix=PREFIX,
        metrics=runtime.metrics,
        readiness={"nats": runtime.nats_ready, "database": runtime.db_ready},
        lifespan=runtime.lifespan,
        verifier=verifier,
    )
    app.state.runtime = runtime
    app.state.ctx = ctx
    app.state.expiry_job = runtime.add_job(
        PeriodicTask("marketplace-expiry", sweep, settings.expiry_sweep_seconds)
    )
    app.state.digest_job = runtime.add_job(
        PeriodicTask("marketplace-digest", digests, settings.digest_interval_seconds)
    )
    install_domain_errors(app)
    app.include_router(http.router, prefix=PREFIX)
    return app
