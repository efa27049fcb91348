"""Every log line is JSON with the service and trace ids, uvicorn's included."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from wijkkracht_common.observability import configure_logging


def test_uvicorn_lines_become_json_with_the_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.handlers[:] = [logging.StreamHandler(io.StringIO())]  # as uvicorn leaves it
    uvicorn_error.propagate = False
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("probe", "INFO", json=True)
        tracer = TracerProvider().get_tracer("t")
        with tracer.start_as_current_span("request"):
            span = trace.get_current_span().get_span_context()
            uvicorn_error.info("Started server process [%d]", 42)
        line = json.loads(out.getvalue().strip().splitlines()[-1])
        assert line["event"] == "Started server process [42]"
        assert line["service"] == "probe"
        assert line["trace_id"] == format(span.trace_id, "032x")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def test_one_json_line_per_request_with_the_route_template_and_the_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contextlib import asynccontextmanager

    import httpx
    from wijkkracht_common.http_app import create_base_app
    from wijkkracht_common.observability import ServiceMetrics, configure_tracing
    from wijkkracht_common.settings import BaseServiceSettings

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("probe", "INFO", json=True)
        configure_tracing("probe")
        settings = BaseServiceSettings(service_name="probe", env="test", tracing=True)

        @asynccontextmanager
        async def lifespan(_: object):  # type: ignore[no-untyped-def]
            yield

        app = create_base_app(
            settings,
            title="t",
            prefix="/t",
            metrics=ServiceMetrics("probe"),
            readiness={},
            lifespan=lifespan,
        )

        @app.get("/t/people/{person_id}")
        async def person(person_id: str) -> dict[str, str]:
            return {"id": person_id}

        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/t/people/p-4711?name=Jan")
            await client.get("/healthz")  # probes are not logged
        lines = [json.loads(x) for x in out.getvalue().splitlines() if '"request"' in x]
        assert len(lines) == 1
        line = lines[0]
        assert line["route"] == "/t/people/{person_id}" and line["status"] == 200
        assert line["method"] == "GET" and line["duration_ms"] >= 0 and line["trace_id"]
        assert "p-4711" not in out.getvalue() and "Jan" not in out.getvalue()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
