"""Composition root: the one place that wires settings, runtime, consumers and routes."""

from __future__ import annotations

from fastapi import FastAPI
from wijkkracht_common.auth import TokenVerifier
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.runtime import ServiceRuntime

from learning_paths.adapters.repositories import INDEXES
from learning_paths.entrypoints import http
from learning_paths.entrypoints.consumers import register_consumers
from learning_paths.service.context import Context
from learning_paths.settings import Settings

PREFIX = "/learning-paths/v1"


def create_app(
    settings: Settings | None = None, *, verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, indexes=INDEXES)
    ctx = Context(runtime, settings)
    register_consumers(ctx)
    app = create_base_app(
        settings,
        title="Wijkkracht learning_paths",
        description="The shape every service starts from.",
        prefix=PREFIX,
        metrics=runtime.metrics,
        readiness={"nats": runtime.nats_ready, "database": runtime.db_ready},
        lifespan=runtime.lifespan,
        verifier=verifier,
    )
    app.state.runtime = runtime
    app.state.ctx = ctx
    app.include_router(http.router, prefix=PREFIX)
    return app
