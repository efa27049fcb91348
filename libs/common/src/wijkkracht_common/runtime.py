"""The pieces every service's composition root wires the same way: storage, broker,
streams, outbox relay, and their start/stop order.

`main.create_app(settings)` of each service builds one `ServiceRuntime`, registers its
consumers on `runtime.broker`, and uses `runtime.lifespan` as (part of) the app's lifespan.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from importlib.metadata import entry_points
from typing import Any, TypeVar

from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext

from wijkkracht_common.access_log import ACCESS_LOG_INDEXES
from wijkkracht_common.batch_consumer import Pulling
from wijkkracht_common.consent import CONSENT_INDEXES
from wijkkracht_common.erasure import ERASED_INDEXES
from wijkkracht_common.gc_tuning import tune_gc
from wijkkracht_common.idempotency import IDEMPOTENCY_INDEXES
from wijkkracht_common.inbox import INBOX_INDEXES
from wijkkracht_common.intake import Intake
from wijkkracht_common.mail import MAIL_INDEXES, MailRelay, SmtpConfig
from wijkkracht_common.messaging import create_broker, ensure_declared, ensure_streams
from wijkkracht_common.observability import ServiceMetrics, get_logger, setup
from wijkkracht_common.outbox import OUTBOX_INDEXES, OutboxRelay, Staged, stage
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.pipelined_publish import PipelinedPublisher
from wijkkracht_common.revocation import RevocationFeed, Revocations
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.storage import Database, IndexSpec, Session, Storage

T = TypeVar("T")
P = TypeVar("P", bound=Pulling)
log = get_logger(__name__)
#: A stopping phase slower than this is logged (the whole stop has 5 s in tests' lifespans).
SLOW_STOPPING_PHASE_SECONDS = 1.0


class StopClock:
    """Times the phases of a service's stop: a phase slower than
    `SLOW_STOPPING_PHASE_SECONDS` is logged when it ends, and the phase a cancelled stop (a
    lifespan's deadline) was in is logged with how long it had run."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.started = time.monotonic()

    def total(self) -> float:
        return round(time.monotonic() - self.started, 3)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        begun = time.monotonic()
        try:
            yield
        except asyncio.CancelledError:
            seconds = round(time.monotonic() - begun, 3)
            log.warning(
                "stop cancelled",
                service=self.service,
                phase=name,
                phase_seconds=seconds,
                seconds=self.total(),
            )
            raise
        seconds = time.monotonic() - begun
        if seconds > SLOW_STOPPING_PHASE_SECONDS:
            log.warning(
                "slow stopping phase", service=self.service, phase=name, seconds=round(seconds, 3)
            )


COMMON_INDEXES: tuple[IndexSpec, ...] = (
    OUTBOX_INDEXES,
    CONSENT_INDEXES,
    ERASED_INDEXES,
    INBOX_INDEXES,
    ACCESS_LOG_INDEXES,
    IDEMPOTENCY_INDEXES,
)

Work = Callable[
    [Database[dict[str, Any]], Session],
    Awaitable[tuple[T, Sequence[Staged]]],
]


async def run_demo_seed(service: str) -> None:
    """Run the service's own demo seeder (entry point `wijkkracht.demo` named after it)."""
    for ep in entry_points(group="wijkkracht.demo", name=service):
        seeder: Callable[[], Awaitable[str]] = ep.load()
        try:
            summary = await seeder()
        except Exception:
            log.exception("demo seed failed", service=service)
        else:
            log.info("demo seeded", service=service, summary=summary)


class ServiceRuntime:
    def __init__(
        self,
        settings: BaseServiceSettings,
        *,
        indexes: Iterable[IndexSpec] = (),
        run_relay: bool = True,
        with_mail: bool = False,
    ) -> None:
        setup(settings.service_name, settings)
        self.settings = settings
        self.metrics = ServiceMetrics(settings.service_name)
        self.storage = Storage(
            settings.mongo_url,
            settings.service_name,
            [*COMMON_INDEXES, *((MAIL_INDEXES,) if with_mail else ()), *indexes],
        )
        self.mail: MailRelay | None = (
            MailRelay(
                self.storage,
                SmtpConfig(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    sender=settings.smtp_sender,
                    username=settings.smtp_username,
                    password=settings.smtp_password,
                    starttls=settings.smtp_starttls,
                ),
            )
            if with_mail
            else None
        )
        self.broker: NatsBroker = create_broker(settings, self.metrics)
        self.relay: OutboxRelay | None = None
        self._publisher: PipelinedPublisher | None = None
        self._run_relay = run_relay
        self._jobs: list[PeriodicTask] = []
        self._stopping: list[Callable[[], Awaitable[None]]] = []
        self._batch_consumers: list[Pulling] = []
        #: Closed first at shutdown: consumed events that have not begun are refused.
        self.intake = Intake()
        self.revocations = Revocations()
        self._revocation_feed = RevocationFeed(
            self.revocations, window_seconds=settings.token_revocation_window_seconds
        )

    @property
    def nats(self) -> NatsClient:
        """The broker's NATS connection (once connected)."""
        connection: NatsClient = self.broker.connection
        return connection

    @property
    def js(self) -> JetStreamContext:
        stream: JetStreamContext = self.broker.config.broker_config.connection_state.stream
        return stream

    def add_job(self, job: PeriodicTask) -> PeriodicTask:
        """Run a background job while the service runs (started after the broker and relay,
        stopped before them)."""
        self._jobs.append(job)
        return job

    def add_batch_consumer(self, consumer: P) -> P:
        """Run a batch consumer while the service runs: started once the service has started
        (NATS connected, relay running), stopped at shutdown after the `on_stopping` steps,
        waiting at most `batch_stop_grace_seconds` for the batch being applied."""
        self._batch_consumers.append(consumer)
        return consumer

    def on_stopping(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run `step` first when the service stops, before the jobs, the relay, the broker and
        the storage: a service stops taking work there and finishes what it accepted (e.g. a
        `GroupCommit.stop`), while what it finishes can still be written and published.
        Steps run in the order they were added."""
        self._stopping.append(step)

    async def nats_ready(self) -> bool:
        """Connected, and JetStream answers: a paused or stalled server keeps the connection
        open but answers nothing (/readyz bounds the wait)."""
        try:
            if not self.broker.connection.is_connected:
                return False
            await self.js.account_info()
        except Exception:  # noqa: BLE001 - not connected yet, or no answer
            return False
        return True

    async def db_ready(self) -> bool:
        return await self.storage.ping()

    def notify_relay(self, tenant: str | None = None) -> None:
        if self.relay is not None:
            self.relay.notify(tenant)

    def notify_mail(self) -> None:
        """Send staged mail now rather than at the mail relay's next poll."""
        if self.mail is not None:
            self.mail.notify()

    async def commit(self, tenant: str, work: Work[T], *, batch_events: bool = False) -> T:
        """Run `work(db, session)` in one transaction on the tenant's database; it returns
        (result, events). The events are staged in the same transaction, then the relay is
        woken. This is the only way use cases should change state and emit events.
        `batch_events`: stage them as batch records (hundreds of events per commit)."""
        self.intake.admit()  # a consumed event, once stopping: before it queues (intake.py)
        db = await self.storage.tenant_db(tenant)
        staged: list[dict[str, Any]] = []

        async def callback(session: Session) -> T:
            self.intake.admit()  # and when its turn comes, before anything is written
            result, events = await work(db, session)
            # A retried transaction runs the callback again: keep only the last attempt's.
            batched = batch_events and self.settings.outbox_batch_records
            staged[:] = await stage(db, list(events), session=session, batched=batched)
            return result

        result = await self.storage.in_transaction(db, callback)
        if self.relay is not None and staged:
            self.relay.handoff(tenant, staged)
        else:
            self.notify_relay(tenant)
        return result

    @asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[None]:
        await self.broker.connect()
        await ensure_streams(
            self.js,
            max_age_seconds=self.settings.stream_max_age_days * 86_400,
            replicas=self.settings.stream_replicas,
        )
        await ensure_declared(self.js, self.broker)
        await self.broker.start()
        verifier = getattr(getattr(app, "state", None), "token_verifier", None)
        if verifier is not None:  # tokens identity revoked are refused here too, within seconds
            verifier.revocations = self.revocations
        await self._revocation_feed.start(self.js)
        if self._run_relay:
            self._publisher = PipelinedPublisher(self.nats)
            self.relay = OutboxRelay(
                self.storage,
                self._publisher,
                batch_size=self.settings.outbox_batch_size,
                poll_seconds=self.settings.outbox_poll_seconds,
                metrics=self.metrics,
                retain_sent=self.settings.outbox_retain_sent,
                trace_publishing=self.settings.tracing_enabled,
            )
            self.relay.start()
        if self.mail is not None:
            self.mail.start()
        for job in self._jobs:
            job.start()
        if self.settings.is_dev and self.settings.demo_seed:
            await run_demo_seed(self.settings.service_name)
        tune_gc(self.settings.gc_gen0_threshold)
        for consumer in self._batch_consumers:
            consumer.start(self.js, self.nats)
        log.info("service started", service=self.settings.service_name)
        try:
            yield
        finally:
            await self._stop()

    async def _stop(self) -> None:
        """Stop in the documented order (developer guide, "How a service stops"), timed per
        phase (`StopClock`), so a stop past its deadline says where the time went."""
        phase = StopClock(self.settings.service_name)
        self.intake.close()
        with phase("stopping steps"):
            for step in self._stopping:
                try:
                    await step()
                except Exception:  # the rest of the shutdown must still run
                    log.exception("stopping step failed", step=getattr(step, "__qualname__", ""))
        with phase("batch consumers"):
            # All at once: each may wait its grace for the batch it applies.
            grace = self.settings.batch_stop_grace_seconds
            await asyncio.gather(*(c.stop(grace) for c in self._batch_consumers))
        with phase("subscribers"):
            # Subscribers stop while the relay still runs: each waits for the handlers it
            # started (they finish, or the closed intake refuses them), and the events of
            # those that finish are published now, not after the next start.
            await asyncio.gather(*(subscriber.stop() for subscriber in self.broker.subscribers))
        if self.intake.refused:
            log.info("consumed events left for redelivery", refused=self.intake.refused)
        with phase("jobs"):
            for job in self._jobs:
                await job.stop()
        with phase("relay"):
            if self.relay is not None:
                await self.relay.stop()
            if self._publisher is not None:
                await self._publisher.close()
        with phase("mail, revocations, broker, storage"):
            if self.mail is not None:
                await self.mail.stop()
            await self._revocation_feed.stop()
            await self.broker.stop()
            self.storage.close()
        log.info("service stopped", service=self.settings.service_name, seconds=phase.total())
