"""Batch consumers: the consumer policy of `messaging.settle`, applied to a batch at a time.

For hot event streams where one transaction per event is too slow. `subscribe_batch(...)`
mirrors `messaging.subscribe(...)`; instead of `handler(envelope, delivery)` it takes
`apply(db, envelopes, durable)`, which stores the effect of a whole batch of ONE tenant in one
transaction, claiming the event ids with `inbox.claim_many` inside it, and returns
`{event_id: reason}` for events it refused for good (an empty dict when it took them all).

Policy per fetched batch:

1. every message is validated (envelope, event type, tenant = subject tenant): an invalid one
   is dead-lettered with the reason and terminated on its own, the rest goes on;
2. per tenant, event ids this consumer applied before (`inbox.unseen`) or that occur twice in
   the batch are acked without a second effect (`apply` only sees unseen ids, once each).
   With `use_inbox=False` the consumer keeps no inbox: `apply` must be idempotent by a natural
   key of its own (e.g. a stored document whose `_id` comes from the event) and claims nothing;
   that saves a read and an insert per event on hot streams;
3. `apply` runs; the events it refused are dead-lettered (reason "invalid") and terminated,
   everything else is acked after the commit;
4. a transient error (`storage.TRANSIENT_ERRORS`) naks every message of the group with
   back-off and dead-letters it once `max_deliver` is reached; a `PermanentError` or any other
   error re-runs the group one event at a time, so one poison event cannot take its
   neighbours along (alone, it is dead-lettered: at once for `PermanentError`, after
   `max_deliver` attempts otherwise).

A plain pull loop, not faststream's batch `PullSub`: that loop tops a batch up with fetches
whose remaining timeout can approach zero, and a fetch that fails then drops the messages
already collected until `ack_wait` redelivers them (measured: p99 latency = ack_wait). Batches
come from `pull_batches.BatchPuller` (nats-py's `fetch` spends ~24 µs of CPU per message on
waiting for it). A producer task fetches, validates and (with `prepare`) prepares the next
batches while the current one is applied (one waits, one more is being prepared).

    consumer = subscribe_batch(consumer_service="effect_measurement",
                               event_cls=ResponseSubmitted, apply=ingest,
                               storage=runtime.storage, js=lambda: runtime.js)
    consumer.start(runtime.js, runtime.nats)   # after the broker is connected
    ...
    await consumer.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from opentelemetry import propagate, trace
from pydantic import TypeAdapter, ValidationError

from wijkkracht_common import inbox
from wijkkracht_common.events.envelope import DataT, Envelope, tenant_of_subject
from wijkkracht_common.messaging import (
    PermanentError,
    backoff_delay,
    dead_letter,
    durable_name,
    ensure_consumer,
    stream_for,
)
from wijkkracht_common.observability import ServiceMetrics, get_logger
from wijkkracht_common.partitions import PartitionLeases, partition_filters, partition_slots
from wijkkracht_common.pull_batches import BatchPuller
from wijkkracht_common.storage import TRANSIENT_ERRORS, Database, Storage

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)

Db = Database[dict[str, Any]]
#: `apply(db, envelopes, durable)` → `{event_id: reason}` of the events refused for good.
BatchApply = Callable[[Db, Sequence[Envelope[DataT]], str], Awaitable[Mapping[str, str]]]
#: `prepare(db, envelopes)`: optional work ahead on the batch `apply` gets next (per tenant),
#: run while the current batch is being applied; `apply` must not depend on it.
BatchPrepare = Callable[[Db, Sequence[Envelope[DataT]]], Awaitable[None]]

__all__ = [
    "BatchApply",
    "BatchConsumer",
    "BatchPrepare",
    "BatchSettler",
    "PartitionedBatchConsumer",
    "Pulling",
    "subscribe_batch",
    "subscribe_partitioned",
]


def _attempt(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # noqa: BLE001 - no metadata outside JetStream
        return 1


@dataclass(slots=True)
class _Item(Generic[DataT]):
    msg: Msg
    envelope: Envelope[DataT]


def _by_tenant(items: Sequence[_Item[DataT]]) -> dict[str, list[_Item[DataT]]]:
    """A batch's items per tenant, in order (each tenant's are applied in one transaction)."""
    groups: dict[str, list[_Item[DataT]]] = {}
    for item in items:
        groups.setdefault(item.envelope.tenant, []).append(item)
    return groups


_Parsed = tuple[list[_Item[DataT]], list[tuple[Msg, str]]]
_Fetched = tuple[list[Msg], _Parsed[DataT]]


class BatchSettler(Generic[DataT]):
    """Validates and settles one batch of raw messages by the policy of this module."""

    def __init__(
        self,
        *,
        event_cls: type[DataT],
        durable: str,
        storage: Storage,
        apply: BatchApply[DataT],
        js: Callable[[], JetStreamContext],
        max_deliver: int,
        metrics: ServiceMetrics | None = None,
        use_inbox: bool = True,
        prepare: BatchPrepare[DataT] | None = None,
        trace_batches: bool = False,
    ) -> None:
        self.trace_batches = trace_batches
        self.use_inbox = use_inbox
        self.prepare = prepare
        self.event_cls = event_cls
        self.durable = durable
        self.storage = storage
        self.apply = apply
        self.js = js
        self.max_deliver = max_deliver
        self.metrics = metrics
        self._model: Any = Envelope[event_cls]  # type: ignore[valid-type]
        self._many: TypeAdapter[list[Any]] = TypeAdapter(list[self._model])  # type: ignore[name-defined]
        self._type = event_cls.event_type()

    # -- validation ------------------------------------------------------------------------
    def _check(self, msg: Msg, envelope: Envelope[DataT]) -> None:
        if envelope.type != self._type:
            raise ValueError(f"event type {envelope.type!r} is not {self._type!r}")
        subject_tenant = tenant_of_subject(msg.subject)
        if envelope.tenant != subject_tenant:
            raise PermanentError(
                f"envelope tenant {envelope.tenant!r} differs from subject tenant"
                f" {subject_tenant!r}"
            )

    def parse(self, messages: Sequence[Msg]) -> _Parsed[DataT]:
        """Valid messages with their envelopes, and the invalid ones with the reason.

        One pydantic call for the whole batch (a JSON array of the bodies); only when that
        fails are the messages validated one by one, to tell the bad ones from the good."""
        envelopes: list[Envelope[DataT]] | None = None
        if messages:
            try:
                envelopes = self._many.validate_json(
                    b"[" + b",".join(m.data for m in messages) + b"]"
                )
                if len(envelopes) != len(messages):  # a body that was not one JSON value
                    envelopes = None
            except (ValidationError, ValueError):
                envelopes = None
        valid: list[_Item[DataT]] = []
        invalid: list[tuple[Msg, str]] = []
        for index, msg in enumerate(messages):
            try:
                envelope = (
                    envelopes[index]
                    if envelopes is not None
                    else self._model.model_validate_json(msg.data)
                )
                self._check(msg, envelope)
            except (PermanentError, ValidationError, ValueError) as error:
                invalid.append((msg, str(error)))
                continue
            valid.append(_Item(msg, envelope))
        return valid, invalid

    async def prepare_parsed(self, valid: Sequence[_Item[DataT]]) -> None:
        """Run `prepare` per tenant group; a failure only costs the head start."""
        if self.prepare is None:
            return
        for tenant, items in _by_tenant(valid).items():
            try:
                db = await self.storage.tenant_db(tenant)
                await self.prepare(db, [i.envelope for i in items])
            except Exception as error:  # noqa: BLE001 - apply does the work itself then
                log.warning("batch preparation failed", consumer=self.durable, error=repr(error))

    # -- settlement ------------------------------------------------------------------------
    def _count(self, outcome: str, amount: int = 1) -> None:
        if self.metrics is not None and amount:
            self.metrics.events_consumed.labels(
                self.metrics.service_name, self.durable, outcome
            ).inc(amount)

    async def _reject(self, msg: Msg, reason: str, error: str) -> None:
        await dead_letter(
            self.js(), msg, consumer=self.durable, reason=reason, error=error, attempt=_attempt(msg)
        )
        await msg.term()
        self._count("dead_lettered")
        log.warning(
            "event dead-lettered",
            consumer=self.durable,
            subject=msg.subject,
            reason=reason,
            error=error[:300],
        )

    async def settle(self, messages: Sequence[Msg]) -> None:
        """Validate, then settle (convenience for callers without a pipeline)."""
        await self.settle_parsed(*self.parse(messages))

    async def settle_parsed(
        self, valid: Sequence[_Item[DataT]], invalid: Sequence[tuple[Msg, str]]
    ) -> None:
        for msg, reason in invalid:
            await self._reject(msg, "invalid", reason)
        for tenant, items in _by_tenant(valid).items():
            await self._settle_tenant(tenant, items)

    async def _settle_tenant(self, tenant: str, items: list[_Item[DataT]]) -> None:
        try:
            db = await self.storage.tenant_db(tenant)
            ids = list(dict.fromkeys(i.envelope.id for i in items))
            fresh = set(await inbox.unseen(db, self.durable, ids) if self.use_inbox else ids)
        except TRANSIENT_ERRORS as error:
            await self._retry([i.msg for i in items], error)
            return
        todo: list[_Item[DataT]] = []
        duplicates = 0
        for item in items:
            if item.envelope.id in fresh:
                fresh.discard(item.envelope.id)  # a second copy in this batch is a duplicate
                todo.append(item)
            else:
                await item.msg.ack()
                duplicates += 1
        self._count("duplicate", duplicates)
        if not todo:
            return
        if not self.trace_batches:
            await self._apply(db, todo, split_on_error=len(todo) > 1)
            return
        # One span per batch, linked to the trace of each message it applies; the events the
        # batch stages carry this span's context (the outbox stores the current traceparent).
        links = [
            trace.Link(span.get_span_context())
            for span in (
                trace.get_current_span(propagate.extract(dict(i.msg.headers or {}))) for i in todo
            )
            if span.get_span_context().is_valid
        ]
        with _tracer.start_as_current_span(
            f"{self.durable} process batch",
            kind=trace.SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "nats",
                "messaging.batch.message_count": len(todo),
                "messaging.consumer.group.name": self.durable,
                "wk.tenant": tenant,
            },
        ):
            await self._apply(db, todo, split_on_error=len(todo) > 1)

    async def _apply(self, db: Db, todo: list[_Item[DataT]], *, split_on_error: bool) -> None:
        try:
            refused = await self.apply(db, [i.envelope for i in todo], self.durable)
        except TRANSIENT_ERRORS as error:
            await self._retry([i.msg for i in todo], error)
            return
        except Exception as error:
            if split_on_error:
                log.warning(
                    "batch failed; applying its events one by one",
                    consumer=self.durable,
                    error=repr(error),
                )
                for item in todo:
                    await self._apply(db, [item], split_on_error=False)
                return
            if isinstance(error, PermanentError):
                await self._reject(todo[0].msg, "invalid", str(error))
                return
            log.exception("event handler failed", consumer=self.durable)
            await self._retry([i.msg for i in todo], error, transient=False)
            return
        for index, item in enumerate(todo):
            reason = refused.get(item.envelope.id)
            if reason is None:
                await item.msg.ack()
            else:
                await self._reject(item.msg, "invalid", reason)
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # acks do not wait: let the batch being planned run
        self._count("applied", len(todo) - len(refused))

    async def _retry(
        self, msgs: Sequence[Msg], error: BaseException, *, transient: bool = True
    ) -> None:
        for msg in msgs:
            attempt = _attempt(msg)
            if attempt >= self.max_deliver:
                await self._reject(
                    msg, "transient_exhausted" if transient else "handler_failed", repr(error)
                )
            else:
                await msg.nak(delay=backoff_delay(attempt))
                self._count("retried")
        log.warning("batch retried", consumer=self.durable, size=len(msgs), error=repr(error))


#: Messages handled between two yields to the event loop where a loop would not wait (acks):
#: the next batch is prepared meanwhile, and a long stretch stalls its database round trips.
_YIELD_EVERY = 250
#: Messages validated in one go (one pydantic call) between two yields.
_PARSE_STEP = 500


class BatchConsumer(Generic[DataT]):
    """The pull loop of one durable batch consumer: fetch up to `batch_size` messages
    (waiting at most `batch_timeout`), settle them, repeat; the next batches are fetched,
    validated and prepared by a producer task while the current one is settled."""

    def __init__(
        self,
        settler: BatchSettler[DataT],
        *,
        subject: str,
        stream: str,
        config: ConsumerConfig,
        batch_size: int,
        batch_timeout: float,
    ) -> None:
        self.settler = settler
        self.subject = subject
        self.stream = stream
        self.config = config
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def durable(self) -> str:
        return self.settler.durable

    async def _fetch(self, puller: BatchPuller) -> list[Msg]:
        try:
            return await puller.fetch(self.batch_size, self.batch_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - NATS trouble: unacked ones come back
            log.warning("batch fetch failed", consumer=self.durable, error=repr(error))
            await asyncio.sleep(1.0)
            return []

    async def _fetch_parsed(self, puller: BatchPuller) -> _Fetched[DataT]:
        messages = await self._fetch(puller)
        valid: list[_Item[DataT]] = []
        invalid: list[tuple[Msg, str]] = []
        for start in range(0, len(messages), _PARSE_STEP):
            await asyncio.sleep(0)  # let the batch being applied go first
            chunk_valid, chunk_invalid = self.settler.parse(messages[start : start + _PARSE_STEP])
            valid += chunk_valid
            invalid += chunk_invalid
        return messages, (valid, invalid)

    async def _produce(
        self, puller: BatchPuller, ready: asyncio.Queue[_Fetched[DataT]], inflight: list[Msg]
    ) -> None:
        """Fetch, validate and prepare batches ahead of the one being applied (at most one
        waits in `ready`, one more is being prepared)."""
        while not self._stopping:
            messages, parsed = await self._fetch_parsed(puller)
            inflight[:] = messages
            if messages:
                await self.settler.prepare_parsed(parsed[0])
            await ready.put((messages, parsed))
            inflight.clear()

    async def _ensure_consumer(self, js: JetStreamContext) -> str:
        if not self.config.filter_subjects:
            self.config.filter_subject = self.config.filter_subject or self.subject
        await ensure_consumer(js, self.stream, self.config)
        return str(self.config.durable_name)

    async def _connect(self, js: JetStreamContext, nc: NATS) -> BatchPuller | None:
        """The durable and its puller; retried while JetStream does not answer (after an
        outage a consumer would otherwise end here and its events wait for a restart)."""
        while not self._stopping:
            try:
                puller = BatchPuller(nc, self.stream, await self._ensure_consumer(js))
                await puller.start()
                return puller
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - JetStream not answering yet
                log.warning("batch consumer not started", consumer=self.durable, error=repr(error))
                await asyncio.sleep(1.0)
        return None

    async def _loop(self, js: JetStreamContext, nc: NATS) -> None:
        puller = await self._connect(js, nc)
        if puller is None:
            return
        # Overlap: while a batch is applied, the next ones are fetched, validated (when
        # `apply` waits for the database) and prepared (`prepare`).
        ready: asyncio.Queue[_Fetched[DataT]] = asyncio.Queue(maxsize=1)
        inflight: list[Msg] = []
        producer = asyncio.create_task(self._produce(puller, ready, inflight))
        try:
            while not self._stopping:
                taking = asyncio.ensure_future(ready.get())
                await asyncio.wait({taking, producer}, return_when=asyncio.FIRST_COMPLETED)
                if not taking.done():
                    taking.cancel()
                    producer.result()  # it ended: raise what ended it
                    break
                messages, parsed = taking.result()
                if messages:
                    try:
                        await self.settler.settle_parsed(*parsed)
                    except Exception:
                        # Unsettled messages come back after ack_wait; say why.
                        log.exception("batch settlement failed", consumer=self.durable)
        finally:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
            # Hand what was fetched but not applied back for prompt redelivery. Leave no
            # subscription behind: the broker's drain on shutdown would wait for it.
            unsettled = list(inflight)
            while not ready.empty():
                unsettled += ready.get_nowait()[0]
            try:
                unsettled += await puller.close()
            except Exception:  # noqa: BLE001 - connection gone: they come back after ack_wait
                unsettled += puller.close_nowait()
            for msg in unsettled:
                with contextlib.suppress(Exception):
                    await msg.nak()

    def start(self, js: JetStreamContext, nc: NATS) -> None:
        """Start pulling (call once the NATS connection is up, e.g. in the lifespan)."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(js, nc), name=self.durable)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the batch being applied (at most `grace_seconds`), then stop."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace_seconds)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await task


class Pulling(Protocol):
    """What the runtime starts and stops: a batch consumer or a partitioned one."""

    @property
    def durable(self) -> str: ...

    def start(self, js: JetStreamContext, nc: NATS) -> None: ...

    async def stop(self, grace_seconds: float = 10.0) -> None: ...


def subscribe_batch(
    *,
    consumer_service: str,
    event_cls: type[DataT],
    apply: BatchApply[DataT],
    storage: Storage,
    js: Callable[[], JetStreamContext],
    batch_size: int = 500,
    batch_timeout: float = 0.2,
    max_deliver: int = 8,
    # Redelivery of a batch lost with a crashed process; a batch commits well within it.
    ack_wait_seconds: float = 30.0,
    metrics: ServiceMetrics | None = None,
    use_inbox: bool = True,
    prepare: BatchPrepare[DataT] | None = None,
    trace_batches: bool = False,
    partition: tuple[int, int] | None = None,
) -> BatchConsumer[DataT]:
    """The durable batch consumer `<consumer_service>__<event>` (same name as `subscribe`
    would give); `start(js)` it once NATS is connected and `stop()` it before the broker.
    `use_inbox=False`: no inbox pre-check (see the module docstring, step 2).
    `prepare`: called with the next batch (per tenant) while the current one is applied.
    `trace_batches`: a span per applied batch, linked to each message's trace (pass the
    service's `settings.tracing_enabled`; off, no per-message trace work is done).
    `partition=(index, count)`: the durable `<name>__p<index>of<count>` of a partitioned
    event, filtering that partition's slots (`subscribe_partitioned` runs them)."""
    durable = durable_name(consumer_service, event_cls)
    filters: list[str] | None = None
    if partition is not None:
        index, count = partition
        durable = f"{durable}__p{index}of{count}"
        filters = partition_filters(event_cls, count, index)
    elif event_cls.partition_by:
        filters = event_cls.consumer_filters()
    settler = BatchSettler(
        event_cls=event_cls,
        durable=durable,
        storage=storage,
        apply=apply,
        js=js,
        max_deliver=max_deliver,
        metrics=metrics,
        use_inbox=use_inbox,
        prepare=prepare,
        trace_batches=trace_batches,
    )
    config = ConsumerConfig(
        durable_name=durable,
        max_deliver=max_deliver,
        ack_wait=ack_wait_seconds,
        deliver_policy=DeliverPolicy.ALL,
        # Two batches in flight (one applied, one fetched) with room for redeliveries.
        max_ack_pending=max(1000, batch_size * 4),
        filter_subjects=filters,
    )
    return BatchConsumer(
        settler,
        subject=event_cls.subject_filter(),
        stream=stream_for(event_cls.producer).name,
        config=config,
        batch_size=batch_size,
        batch_timeout=batch_timeout,
    )


#: The batch consumer of one partition (`subscribe_partitioned`'s `consumer_for`).
ConsumerFor = Callable[[int], BatchConsumer[DataT]]


class PartitionedBatchConsumer(Generic[DataT]):
    """A partitioned event's batch consumers in one replica: the partitions this replica holds
    a lease on (`partitions.PartitionLeases`), each pulled by its own `BatchConsumer`, started
    when its lease is taken and stopped (finishing its batch) before the lease is let go."""

    def __init__(
        self,
        *,
        durable: str,
        count: int,
        consumer_for: ConsumerFor[DataT],
        member: str,
        lease_seconds: float,
        grace_seconds: float = 10.0,
        kv_replicas: int = 1,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.durable = durable
        self.kv_replicas = kv_replicas
        self.metrics = metrics
        self.count = count
        self.member = member
        self.lease_seconds = lease_seconds
        self.grace_seconds = grace_seconds
        self._consumer_for = consumer_for
        self.running: dict[int, BatchConsumer[DataT]] = {}
        self.leases: PartitionLeases | None = None
        self._task: asyncio.Task[None] | None = None
        self._connection: tuple[JetStreamContext, NATS] | None = None

    async def _acquire(self, partition: int) -> None:
        assert self._connection is not None
        consumer = self.running.get(partition)
        if consumer is None:
            consumer = self.running[partition] = self._consumer_for(partition)
        consumer.start(*self._connection)
        self._count()

    def _count(self) -> None:
        if self.metrics is not None:
            self.metrics.partitions_held.labels(self.metrics.service_name, self.durable).set(
                len(self.running)
            )

    async def _release(self, partition: int) -> None:
        consumer = self.running.pop(partition, None)
        self._count()
        if consumer is not None:
            await consumer.stop(self.grace_seconds)

    async def _join(self, js: JetStreamContext) -> None:
        self.leases = PartitionLeases(
            group=self.durable,
            count=self.count,
            member=self.member,
            lease_seconds=self.lease_seconds,
            on_acquire=self._acquire,
            on_release=self._release,
            replicas=self.kv_replicas,
        )
        while True:
            try:
                await self.leases.start(js)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - NATS not answering yet: try again
                log.warning("partition leases not started", group=self.durable, error=repr(error))
                await asyncio.sleep(self.leases.period)

    def start(self, js: JetStreamContext, nc: NATS) -> None:
        if self._task is None:
            self._connection = (js, nc)
            self._task = asyncio.create_task(self._join(js), name=f"join {self.durable}")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop every partition (each finishing its batch, at most `grace_seconds`), then let
        their leases go so the other replicas take them at once."""
        self.grace_seconds = grace_seconds
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self.leases is not None:
            await self.leases.stop()
        await asyncio.gather(*(self._release(p) for p in list(self.running)))


def subscribe_partitioned(
    *,
    consumer_service: str,
    event_cls: type[DataT],
    count: int,
    consumer_for: Callable[[tuple[int, int]], BatchConsumer[DataT]],
    member: str,
    lease_seconds: float,
    kv_replicas: int = 1,
    metrics: ServiceMetrics | None = None,
) -> PartitionedBatchConsumer[DataT]:
    """`count` partitions of a partitioned event (`EventData.partition_by`), leased among the
    replicas. `consumer_for((index, count))` builds a partition's consumer, normally
    `subscribe_batch(..., partition=(index, count))` with an `apply` of its own (state kept
    per partition stays valid while one replica holds it). `kv_replicas`: of the lease
    bucket's stream (the service's `stream_replicas`)."""
    if not event_cls.partition_by:
        raise ValueError(f"{event_cls.__name__} is not partitioned")
    partition_slots(count, 0)  # validates the count
    return PartitionedBatchConsumer(
        durable=durable_name(consumer_service, event_cls),
        count=count,
        consumer_for=lambda index: consumer_for((index, count)),
        member=member,
        lease_seconds=lease_seconds,
        kv_replicas=kv_replicas,
        metrics=metrics,
    )
