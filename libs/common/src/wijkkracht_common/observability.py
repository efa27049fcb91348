"""One call per process: structlog JSON logs with trace ids, OpenTelemetry traces, metrics.

`setup(service_name, settings)` configures logging and tracing; traces are exported by OTLP
only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard OpenTelemetry variable), so a
developer's `make run` stays quiet. Metrics use prometheus_client and are served on `/metrics`
by the HTTP app factory.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.tenancy import current_correlation_id, current_tenant

_configured_service: str | None = None


def _add_trace_context(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict["trace_id"] = format(span_context.trace_id, "032x")
        event_dict["span_id"] = format(span_context.span_id, "016x")
    tenant = current_tenant()
    if tenant is not None:
        event_dict.setdefault("tenant", tenant)
    correlation_id = current_correlation_id()
    if correlation_id is not None:
        event_dict.setdefault("correlation_id", correlation_id)
    return event_dict


def _add_service(service_name: str) -> structlog.types.Processor:
    def processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
        event_dict.setdefault("service", service_name)
        return event_dict

    return processor


def configure_logging(service_name: str, level: str = "INFO", json: bool | None = None) -> None:
    """structlog for our code and the standard library (uvicorn, faststream) alike."""
    use_json = (not sys.stdout.isatty()) if json is None else json
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service_name),
        _add_trace_context,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn configures its own loggers (plain text, not propagated) before it loads the
    # app: route them through the handler above, so its lines are JSON with trace ids too.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # One line per request comes from the app itself (method, route template, status,
    # duration: `http_app.RequestContextMiddleware`), not from uvicorn's access log.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Outgoing calls' URLs may hold a person's id: httpx2 (and httpx, the tests' client)
    # log each one at INFO.
    for name in ("httpx2", "httpcore2", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_tracing(service_name: str, extra_processor: SpanProcessor | None = None) -> None:
    """Install a tracer provider once; OTLP export only when an endpoint is configured."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        if extra_processor is not None:
            current.add_span_processor(extra_processor)
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    trace.set_tracer_provider(provider)


def setup(service_name: str, settings: BaseServiceSettings) -> None:
    """The one observability call per process (idempotent)."""
    global _configured_service
    if _configured_service == service_name:
        return
    configure_logging(service_name, settings.log_level, settings.log_json)
    configure_tracing(service_name)
    _configured_service = service_name


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


class ServiceMetrics:
    """Per-app Prometheus registry with the platform's standard instruments."""

    def __init__(self, service_name: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "wk_http_requests_total",
            "HTTP requests by route and status",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "wk_http_request_duration_seconds",
            "HTTP request latency by route",
            ["service", "method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.http_shed = Counter(
            "wk_http_shed_total",
            "HTTP requests answered 503 service-busy by admission control",
            ["service"],
            registry=self.registry,
        )
        self.events_published = Counter(
            "wk_events_published_total",
            "Events published by the outbox relay",
            ["service"],
            registry=self.registry,
        )
        self.events_consumed = Counter(
            "wk_events_consumed_total",
            "Events consumed, by consumer and outcome (applied, duplicate, retried, dead_lettered)",
            ["service", "consumer", "outcome"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "wk_outbox_backlog",
            "Events stored but not yet published (last relay pass)",
            ["service"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "wk_consumer_lag",
            "Messages pending for a durable consumer",
            ["service", "consumer"],
            registry=self.registry,
        )
        self.partitions_held = Gauge(
            "wk_partitions_held",
            "Partitions of a partitioned consumer this replica holds (partitions.py)",
            ["service", "consumer"],
            registry=self.registry,
        )
        self.service_name = service_name
