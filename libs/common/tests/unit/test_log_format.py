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
