"""Typed settings shared by every service; read from `WK_*` environment variables.

Settings are built inside the composition root (`create_app(settings)`), never at import
time, so tests and tools can construct them with explicit values.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "prod"]

DEFAULT_NATS_URL = "nats://127.0.0.1:14222"
DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27117/?directConnection=true"


class BaseServiceSettings(BaseSettings):
    """Settings every service has. Subclass per service and set `service_name`."""

    model_config = SettingsConfigDict(env_prefix="WK_", extra="ignore")

    service_name: str = "service"
    env: Environment = "dev"
    nats_url: str = DEFAULT_NATS_URL
    mongo_url: str = DEFAULT_MONGO_URL
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_json: bool | None = Field(default=None, description="None: JSON unless stdout is a TTY")
    tracing: bool | None = Field(
        default=None,
        description="trace HTTP requests and messages; None: only when an OTLP endpoint is set "
        "(tracing costs ~20% of a request's CPU, wasted when no span is exported)",
    )

    # Token verification (every service); identity issues the tokens.
    issuer: str = "http://127.0.0.1:8001/identity/v1"
    jwks_url: str = "http://127.0.0.1:8001/identity/v1/.well-known/jwks.json"
    token_audience: str = "wijkkracht-api"
    token_algorithms: list[str] = ["ES256", "RS256"]
    token_leeway_seconds: int = 30

    # Event plumbing.
    outbox_batch_size: int = 500
    outbox_poll_seconds: float = 1.0
    #: Keep published events in the outbox (marked sent) instead of deleting them.
    outbox_retain_sent: bool = False
    consumer_max_deliver: int = 8
    #: Store hundreds of events of one commit as zlib-compressed batch records (outbox.py).
    #: A gain on the embedded server (~13 µs of database CPU per event); on MongoDB, where a
    #: list of small documents is cheap, it costs ~1-2 µs of service CPU per event for the
    #: compression: set false there if the service's CPU is the limit.
    outbox_batch_records: bool = True
    #: Bounded age of the event streams (they carry person ids and facts about people): a
    #: message older than this is removed by NATS. Architecture §9: at most 30 days.
    stream_max_age_days: float = Field(default=30.0, gt=0, le=30)

    # Outgoing mail (invitations, verification links). Dev: the local sink of `make run`.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 14025
    smtp_sender: str = "Wijkkracht <noreply@wijkkracht.test>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False

    #: Young-generation threshold of the garbage collector after start-up (see gc_tuning);
    #: 0 keeps CPython's default (700).
    gc_gen0_threshold: int = Field(default=50_000, ge=0)

    # Dev only: seed this service's part of the demo tenant during start-up (`make run`
    # sets it), so the service is the only writer to its databases (see embedded DB quirks).
    demo_seed: bool = False

    @property
    def tracing_enabled(self) -> bool:
        if self.tracing is not None:
            return self.tracing
        return bool(
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        )

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"
