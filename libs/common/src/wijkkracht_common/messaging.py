"""NATS JetStream plumbing: broker factory, streams, subjects, and the consumer policy.

Applying an event: `apply_once(runtime, envelope, delivery, effect)` is THE way a consumer
changes state. It claims the event in the inbox, runs the effect and stages the follow-up
events the effect returns, all in one transaction through `runtime.commit`; a redelivered
event finds its claim and has no second effect. (High-volume consumers apply whole batches
with `batch_consumer.subscribe_batch`, which keeps the same guarantee per message.)

Policy (architecture §4): every subscriber acks explicitly. Ack after the effect is stored;
`nak` with back-off on transient errors; on a permanent error (invalid payload) or when the
last allowed delivery fails, write the message to the `DLQ` stream with the reason, then
terminate. Nothing relies on faststream's default of terminating on any exception.
"""

from __future__ import annotations

import base64
import json
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, NatsRouter, PullSub
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from wijkkracht_common import erasure, fetch_timeouts, inbox, intake
from wijkkracht_common.events.envelope import (
    SUBJECT_ROOT,
    DataT,
    Envelope,
    EventData,
    parse_event,
    tenant_of_subject,
)
from wijkkracht_common.observability import ServiceMetrics, get_logger
from wijkkracht_common.outbox import Staged
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.storage import TRANSIENT_ERRORS, Database, Session
from wijkkracht_common.tenancy import set_correlation_id, set_tenant

log = get_logger(__name__)
# Before any subscriber fetches: a fetch time-out must not end faststream's pull loop.
fetch_timeouts.install()

PRODUCERS = (
    "identity",
    "questionnaires",
    "learning_paths",
    "marketplace",
    "social_map",
    "effect_measurement",
    "access",
)
DLQ_STREAM = "DLQ"
DUPLICATE_WINDOW_SECONDS = 120.0
#: Delay before redelivery after the n-th failed delivery (seconds).
DEFAULT_BACKOFF: tuple[float, ...] = (0.5, 2, 5, 15, 30, 60, 120)

T = TypeVar("T")


class PermanentError(Exception):
    """The event can never be applied (bad payload, broken invariant): dead-letter it."""


def stream_name(producer: str) -> str:
    return producer.upper()


def stream_for(producer: str, *, max_age_seconds: float | None = None) -> JStream:
    """The one stream of a producing service. `ensure_streams` declares it (with the bounded
    age); subscribers only name it (`declare=False`: faststream would otherwise replace the
    stream's configuration with its own when they differ)."""
    return JStream(
        name=stream_name(producer),
        subjects=[f"{SUBJECT_ROOT}.*.{producer}.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=max_age_seconds,
        declare=False,
    )


def dlq_stream(*, max_age_seconds: float | None = None) -> JStream:
    return JStream(
        name=DLQ_STREAM,
        subjects=["dlq.>"],
        storage=StorageType.FILE,
        max_age=max_age_seconds,
        declare=False,
    )


def _age_of(config: Any) -> float:
    return float(config.max_age or 0)


async def ensure_streams(
    js: JetStreamContext,
    producers: Sequence[str] = PRODUCERS,
    *,
    max_age_seconds: float | None = None,
    replicas: int = 1,
) -> None:
    """Create the platform's streams if missing, and give existing ones the bounded age and
    the replica count (idempotent; safe from every service). Every stream carries person ids,
    the dead-letter stream whole payloads: all get `max_age_seconds` (architecture §9)."""
    streams = [
        *(stream_for(p, max_age_seconds=max_age_seconds) for p in producers),
        dlq_stream(max_age_seconds=max_age_seconds),
    ]
    for stream in streams:
        # JStream keeps its subjects outside `.config`; build the server config from both.
        config = replace(stream.config, subjects=list(stream.subjects), num_replicas=replicas)
        try:
            info = await js.stream_info(stream.name)
        except NotFoundError:
            await js.add_stream(config)
            continue
        changes: dict[str, Any] = {}
        if max_age_seconds is not None and abs(_age_of(info.config) - max_age_seconds) > 1e-3:
            changes["max_age"] = max_age_seconds
        if (info.config.num_replicas or 1) != replicas:
            changes["num_replicas"] = replicas
        if changes:
            await js.update_stream(replace(info.config, **changes))


def create_broker(settings: BaseServiceSettings, metrics: ServiceMetrics) -> NatsBroker:
    """faststream broker with tracing (traceparent in headers) and Prometheus metrics."""
    middlewares: list[Any] = [
        NatsPrometheusMiddleware(registry=metrics.registry, app_name=settings.service_name)
    ]
    if settings.tracing_enabled:
        middlewares.insert(0, NatsTelemetryMiddleware())
    return NatsBroker(
        settings.nats_url,
        middlewares=tuple(middlewares),
        graceful_timeout=settings.consumer_grace_seconds,
        max_reconnect_attempts=-1,
        logger=None,
    )


def _filters(config: ConsumerConfig) -> tuple[str | None, list[str]]:
    return config.filter_subject or None, sorted(config.filter_subjects or [])


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """Create the durable consumer, or bring an existing one's filter up to date: a durable
    keeps the filter it was created with, so one created before its event's subjects changed
    (a partitioned event's gained a slot token) would match none of the new messages."""
    durable = str(config.durable_name)
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
        await js.add_consumer(stream, config=config)
        return
    if _filters(info.config) != _filters(config):
        updated = info.config.evolve(
            filter_subject=config.filter_subject, filter_subjects=config.filter_subjects
        )
        await js.add_consumer(stream, config=updated)  # the server updates a durable's filter
        log.info("consumer filter updated", consumer=durable, stream=stream)


#: Durables `subscribe` declared on a broker: `ensure_declared` reconciles them at start-up
#: (faststream creates a missing durable but uses an existing one as it is).
_declared: weakref.WeakKeyDictionary[Any, list[tuple[str, ConsumerConfig]]] = (
    weakref.WeakKeyDictionary()
)


async def ensure_declared(js: JetStreamContext, broker: NatsBroker | NatsRouter) -> None:
    """Create or update every durable `subscribe` declared on `broker` (before it starts)."""
    for stream, config in _declared.get(broker, []):
        await ensure_consumer(js, stream, config)


def durable_name(consumer_service: str, event_cls: type[EventData]) -> str:
    event = f"{event_cls.producer}_{event_cls.event_name}_v{event_cls.event_version}"
    return f"{consumer_service}__{event}"


@dataclass(frozen=True)
class Delivery:
    """What a handler may want to know about the message it handles."""

    subject: str
    attempt: int
    durable: str


async def dead_letter(
    js: JetStreamContext,
    msg: Msg,
    *,
    consumer: str,
    reason: str,
    error: str,
    attempt: int,
) -> None:
    """Keep the message with its reason in the DLQ stream (nothing is lost)."""
    try:
        text: str | None = msg.data.decode()
        encoded: str | None = None
    except UnicodeDecodeError:
        text, encoded = None, base64.b64encode(msg.data).decode()
    tenant = tenant_of_subject(msg.subject) or "unknown"
    record = {
        "original_subject": msg.subject,
        "consumer": consumer,
        "reason": reason,
        "error": error[:2000],
        "attempt": attempt,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
        "headers": dict(msg.headers or {}),
        "data": text,
        "data_base64": encoded,
    }
    await js.publish(f"dlq.{tenant}.{consumer}", json.dumps(record).encode())


def _attempt(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # noqa: BLE001 - test brokers have no metadata
        return 1


def backoff_delay(attempt: int, backoff: Sequence[float] = DEFAULT_BACKOFF) -> float:
    return backoff[min(attempt, len(backoff)) - 1]


async def settle(
    message: NatsMessage,
    js: JetStreamContext,
    *,
    durable: str,
    max_deliver: int,
    work: Callable[[], Awaitable[str]],
    metrics: ServiceMetrics | None = None,
) -> None:
    """Run `work` and settle the message by the policy; `work` returns the outcome label."""
    raw: Msg = message.raw_message
    attempt = _attempt(raw)
    service = metrics.service_name if metrics else ""

    def count(outcome: str) -> None:
        if metrics is not None:
            metrics.events_consumed.labels(service, durable, outcome).inc()

    try:
        outcome = await work()
    except (PermanentError, ValidationError, ValueError) as error:
        await dead_letter(
            js, raw, consumer=durable, reason="invalid", error=str(error), attempt=attempt
        )
        await message.reject()
        count("dead_lettered")
        log.warning(
            "event dead-lettered",
            consumer=durable,
            subject=raw.subject,
            reason="invalid",
            error=str(error)[:300],
        )
        return
    except Exception as error:
        transient = isinstance(error, TRANSIENT_ERRORS)
        if attempt >= max_deliver:
            await dead_letter(
                js,
                raw,
                consumer=durable,
                reason="transient_exhausted" if transient else "handler_failed",
                error=repr(error),
                attempt=attempt,
            )
            await message.reject()
            count("dead_lettered")
            log.error(
                "event dead-lettered after retries",
                consumer=durable,
                subject=raw.subject,
                error=repr(error),
            )
            return
        await message.nack(delay=backoff_delay(attempt))
        count("retried")
        if isinstance(error, intake.ShuttingDown):
            pass  # hundreds at a shutdown: counted, and logged once by the runtime
        elif transient:
            log.warning("event retried: transient error", consumer=durable, error=repr(error))
        else:
            log.exception("event handler failed; will retry", consumer=durable)
        return
    await message.ack()
    count(outcome)


EventHandler = Callable[[Envelope[DataT], Delivery], Awaitable[bool]]

#: An event's effect: writes with `session=session`, returns the follow-up events to stage.
Effect = Callable[[Database[dict[str, Any]], Session], Awaitable[Sequence[Staged]]]


class Committer(Protocol):
    """What `apply_once` needs of `runtime.ServiceRuntime`: its one write path."""

    async def commit(
        self,
        tenant: str,
        work: Callable[
            [Database[dict[str, Any]], Session], Awaitable[tuple[bool, Sequence[Staged]]]
        ],
        *,
        batch_events: bool = False,
    ) -> bool: ...


async def apply_once(
    runtime: Committer,
    envelope: Envelope[Any],
    delivery: Delivery,
    effect: Effect,
    *,
    database: str | None = None,
    person: str | None = None,
) -> bool:
    """Apply `effect` at most once for this consumer: inbox claim, effect and follow-up events
    in one transaction on the tenant's database (`database`: another one of this service's,
    e.g. `PLATFORM_TENANT` for service-wide registries). `person`: the person the event is
    about; an event about a person this service erased is dropped (claimed, no effect). True
    when applied, False when the event had been applied before or was dropped (the caller
    acks either way)."""

    async def work(db: Database[dict[str, Any]], session: Session) -> tuple[bool, list[Staged]]:
        if not await inbox.claim(db, delivery.durable, envelope.id, session=session):
            return False, []
        if person is not None and await erasure.is_erased(
            db, envelope.tenant, person, session=session
        ):
            log.info("event about an erased person dropped", consumer=delivery.durable)
            return False, []
        return True, list(await effect(db, session))

    return await runtime.commit(database or envelope.tenant, work)


def subscribe(
    router: NatsRouter | NatsBroker,
    *,
    consumer_service: str,
    event_cls: type[DataT],
    handler: EventHandler[DataT],
    js: Callable[[], JetStreamContext],
    max_deliver: int = 8,
    metrics: ServiceMetrics | None = None,
    ack_wait_seconds: float = 30.0,
) -> None:
    """Register `handler` as the durable consumer `<consumer_service>__<event>`.

    `handler(envelope, delivery)` stores the effect idempotently and returns True when it
    applied it, False when the event was a duplicate. Payload and tenant are validated before.
    """
    durable = durable_name(consumer_service, event_cls)

    async def _consume(message: NatsMessage) -> None:
        async def work() -> str:
            envelope = parse_event(event_cls, message.body)
            subject_tenant = tenant_of_subject(message.raw_message.subject)
            if envelope.tenant != subject_tenant:
                raise PermanentError(
                    f"envelope tenant {envelope.tenant!r} differs from subject tenant"
                    f" {subject_tenant!r}"
                )
            set_tenant(envelope.tenant)
            set_correlation_id(envelope.correlationid)
            subject, attempt = message.raw_message.subject, _attempt(message.raw_message)
            # Its transactions are refused once the service is stopping (intake.py).
            with intake.applying(durable, subject, attempt, max_deliver):
                applied = await handler(envelope, Delivery(subject, attempt, durable))
            return "applied" if applied else "duplicate"

        await settle(
            message, js(), durable=durable, max_deliver=max_deliver, work=work, metrics=metrics
        )

    _consume.__name__ = f"consume_{durable}"  # names the handler in logs and AsyncAPI
    config = ConsumerConfig(
        durable_name=durable,
        max_deliver=max_deliver,
        ack_wait=ack_wait_seconds,
        deliver_policy=DeliverPolicy.ALL,
    )
    stream = stream_for(event_cls.producer)
    filters = event_cls.consumer_filters()
    declared = (
        replace(config, filter_subject=filters[0])
        if len(filters) == 1
        else replace(config, filter_subjects=filters)
    )
    _declared.setdefault(router, []).append((stream.name, declared))
    router.subscriber(
        event_cls.subject_filter(),
        stream=stream,
        durable=durable,
        pull_sub=PullSub(batch_size=64, timeout=1.0),
        config=config,
        ack_policy=AckPolicy.MANUAL,
        title=durable,
    )(_consume)
