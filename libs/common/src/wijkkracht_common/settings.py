"""Typed settings shared by every service; read from `WK_*` environment variables.

Settings are built inside the composition root (`create_app(settings)`), never at import
time, so tests and tools can construct them with explicit values.
"""

from __future__ import annotations

import os
from typing import Literal, Self
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "prod"]

DEFAULT_NATS_URL = "nats://127.0.0.1:14222"
DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27117/?directConnection=true"

#: Driver timeouts (milliseconds) when neither the settings nor the URL give them: the
#: defaults of the `db_*_ms` settings below, which say what each one bounds.
DEFAULT_DB_TIMEOUTS_MS: dict[str, int] = {
    "timeoutMS": 8_000,
    "serverSelectionTimeoutMS": 5_000,
    "connectTimeoutMS": 5_000,
    "socketTimeoutMS": 20_000,
}


def url_option_names(url: str) -> set[str]:
    """The connection options a MongoDB URL sets, lower-cased (option names are
    case-insensitive)."""
    return {name.lower() for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


def with_url_options(url: str, options: dict[str, int]) -> str:
    """`url` with each of `options` the URL does not set already appended: an option written
    in the URL wins, so an operator's URL keeps control."""
    given = url_option_names(url)
    missing = [f"{name}={value}" for name, value in options.items() if name.lower() not in given]
    if not missing:
        return url
    parts = urlsplit(url)
    query = "&".join([*([parts.query] if parts.query else []), *missing])
    return urlunsplit(parts._replace(path=parts.path or "/", query=query))


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

    # Database driver timeouts (milliseconds), so a stalled or unreachable database ends an
    # operation with an error (HTTP 503) instead of a hanging request. They are added to
    # `mongo_url` unless the URL sets the same option itself (the URL wins).
    #: Client-side bound on each database operation, its retry and the wait for a connection
    #: included (the driver's `timeoutMS`); 0: no bound. A read or write on a stalled database
    #: fails after about this time (a cursor's batches are bounded one by one).
    db_timeout_ms: int = Field(default=DEFAULT_DB_TIMEOUTS_MS["timeoutMS"], ge=0)
    #: How long an operation waits for a reachable server (`serverSelectionTimeoutMS`); also
    #: how soon an unreachable database is reported.
    db_server_selection_timeout_ms: int = Field(
        default=DEFAULT_DB_TIMEOUTS_MS["serverSelectionTimeoutMS"], ge=1
    )
    #: Opening a connection, TCP and handshake (`connectTimeoutMS`); also the bound of the
    #: driver's background health checks.
    db_connect_timeout_ms: int = Field(default=DEFAULT_DB_TIMEOUTS_MS["connectTimeoutMS"], ge=1)
    #: One network round trip (`socketTimeoutMS`); only governs when `db_timeout_ms` is 0.
    db_socket_timeout_ms: int = Field(default=DEFAULT_DB_TIMEOUTS_MS["socketTimeoutMS"], ge=1)

    # HTTP hardening (every service).
    #: Largest request body (bytes) a route accepts unless it declares its own limit
    #: (`max_body_size=` on the route or its router); enforced while the body streams in,
    #: chunked bodies included: 413 problem.
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=0)
    #: `Retry-After` (seconds) of the 503 answered while the database or the broker is
    #: unreachable.
    unavailable_retry_after_seconds: int = Field(default=5, ge=1)
    #: How long a batch consumer's stop waits for the batch being applied (seconds); past it
    #: the batch's transaction is abandoned and its messages come again (nothing is lost).
    batch_stop_grace_seconds: float = Field(default=10.0, ge=0)
    #: Bound on each `/readyz` check (seconds): a check that takes longer counts as not ready.
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    #: Back-pressure (`admission.py`): requests served at once per process (0: no limit).
    #: More than this wait in a FIFO of `admission_max_waiting` for at most
    #: `admission_wait_ms` (a tenth of it while the queue has not emptied for twice as long:
    #: sustained overload); the rest are answered 503 `service-busy` with `Retry-After` of
    #: `busy_retry_after_seconds`, so the admitted keep their latency instead of everything
    #: queueing in the event loop.
    max_concurrent_requests: int = Field(default=16, ge=0)
    admission_max_waiting: int = Field(default=128, ge=0)
    admission_wait_ms: int = Field(default=50, ge=0)
    busy_retry_after_seconds: int = Field(default=1, ge=1)

    # Token verification (every service); identity issues the tokens.
    issuer: str = "http://127.0.0.1:8001/identity/v1"
    jwks_url: str = "http://127.0.0.1:8001/identity/v1/.well-known/jwks.json"
    token_audience: str = "wijkkracht-api"
    token_algorithms: list[str] = ["ES256", "RS256"]
    token_leeway_seconds: int = 30
    #: How far back a starting replica reads identity's revocations: at least the longest
    #: access-token lifetime (a revoked token older than this has expired anyway).
    token_revocation_window_seconds: float = Field(default=7200.0, gt=0)
    #: Verified tokens kept in memory per process (least recently used dropped first), so a
    #: flood of distinct tokens cannot grow memory without bound; 0: no cache.
    token_cache_size: int = Field(default=10_000, ge=0)

    # Event plumbing.
    outbox_batch_size: int = 500
    outbox_poll_seconds: float = 1.0
    #: Keep published events in the outbox (marked sent) instead of deleting them.
    outbox_retain_sent: bool = False
    consumer_max_deliver: int = 8
    #: Partitioned consumers (`partitions.py`): a replica's lease on a partition lasts this
    #: long after its last refresh (refreshed every third of it). A killed replica's
    #: partitions move to the others within it; shorter costs more KV writes.
    partition_lease_seconds: float = Field(default=10.0, gt=0)
    #: This replica's id among the replicas of its service; empty: host, pid and a random
    #: part (`partitions.replica_id`).
    replica_id: str = Field(default="", pattern=r"^[A-Za-z0-9_-]*$")
    #: How long stopping waits for messages being handled; the rest are not acknowledged and
    #: come back to the next instance (at-least-once, applied once): a fast shutdown loses
    #: nothing.
    consumer_grace_seconds: float = Field(default=3.0, gt=0)
    #: Store hundreds of events of one commit as zlib-compressed batch records (outbox.py).
    #: A gain on the embedded server (~13 µs of database CPU per event); on MongoDB, where a
    #: list of small documents is cheap, it costs ~1-2 µs of service CPU per event for the
    #: compression: set false there if the service's CPU is the limit.
    outbox_batch_records: bool = True
    #: Bounded age of the event streams (they carry person ids and facts about people): a
    #: message older than this is removed by NATS. Architecture §9: at most 30 days.
    stream_max_age_days: float = Field(default=30.0, gt=0, le=30)
    #: JetStream replicas of every stream `ensure_streams` declares: 1 on one server, 3 on
    #: the production cluster (deploy/k8s overlays set it).
    stream_replicas: int = Field(default=1, ge=1, le=5)

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

    @model_validator(mode="after")
    def _database_timeouts_in_url(self) -> Self:
        # The URL is what reaches the driver (ServiceRuntime passes it on to Storage).
        self.mongo_url = with_url_options(self.mongo_url, self.db_client_options())
        return self

    def db_client_options(self) -> dict[str, int]:
        """The driver timeouts of these settings, as MongoDB connection options."""
        return {
            "timeoutMS": self.db_timeout_ms,
            "serverSelectionTimeoutMS": self.db_server_selection_timeout_ms,
            "connectTimeoutMS": self.db_connect_timeout_ms,
            "socketTimeoutMS": self.db_socket_timeout_ms,
        }

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
