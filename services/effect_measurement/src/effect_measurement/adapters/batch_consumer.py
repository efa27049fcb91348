"""Batch consumer: the consumer policy of `wijkkracht_common.messaging.settle`, per batch.

Generic; belongs in libs/common next to `subscribe` (kept here until the lead moves it).
A JetStream pull consumer fetches up to `batch_size` raw messages at once. Per batch:

1. validate each message (envelope, event type, tenant = subject tenant): an invalid one is
   dead-lettered with the reason and terminated on its own, the rest goes on;
2. per tenant, drop event ids this consumer applied before (`inbox.unseen`) or that occur
   twice in the batch: those are acked without a second effect;
3. `apply(db, envelopes, durable)` stores the effect in ONE transaction (it claims the ids
   with `inbox.claim_many`); it returns `{event_id: reason}` for events it refused for good,
   which are dead-lettered and terminated; everything else is acked after the commit;
4. a transient error naks every message of the group with back-off (dead-lettered once
   `max_deliver` is reached); any other error re-runs the group one event at a time, so one
   poison event cannot take its neighbours to the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic

from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from pydantic import ValidationError
from wijkkracht_common import inbox
from wijkkracht_common.events.envelope import DataT, Envelope, parse_event, tenant_of_subject
from wijkkracht_common.messaging import (
    PermanentError,
    backoff_delay,
    dead_letter,
    durable_name,
    stream_for,
)
from wijkkracht_common.observability import ServiceMetrics, get_logger
from wijkkracht_common.storage import TRANSIENT_ERRORS, Database, Storage

log = get_logger(__name__)

Db = Database[dict[str, Any]]
BatchApply = Callable[[Db, Sequence[Envelope[DataT]], str], Awaitable[dict[str, str]]]


def _attempt(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # noqa: BLE001 - no metadata outside JetStream
        return 1


class BatchSettler(Generic[DataT]):
    """Settles one batch of raw messages by the policy above."""

    def __init__(
        self,
        *,
        event_cls: type[DataT],
        durable: str,
        storage: Storage,
        apply: BatchApply[DataT],
        js: Callable[[], JetStreamContext],
        max_deliver: int,
        metrics: ServiceMetrics | None,
    ) -> None:
        self.event_cls = event_cls
        self.durable = durable
        self.storage = storage
        self.apply = apply
        self.js = js
        self.max_deliver = max_deliver
        self.metrics = metrics

    def _count(self, outcome: str, amount: int = 1) -> None:
        if self.metrics is not None and amount:
            self.metrics.events_consumed.labels(
                self.metrics.service_name, self.durable, outcome
            ).inc(amount)

    async def _reject(self, msg: Msg, reason: str, error: str) -> None:
        await dead_letter(self.js(), msg, consumer=self.durable, reason=reason, error=error,
                          attempt=_attempt(msg))
        await msg.term()
        self._count("dead_lettered")
        log.warning("event dead-lettered", consumer=self.durable, subject=msg.subject,
                    reason=reason, error=error[:300])

    def _parse(self, msg: Msg) -> Envelope[DataT]:
        envelope = parse_event(self.event_cls, msg.data)
        subject_tenant = tenant_of_subject(msg.subject)
        if envelope.tenant != subject_tenant:
            raise PermanentError(
                f"envelope tenant {envelope.tenant!r} differs from subject tenant"
                f" {subject_tenant!r}"
            )
        return envelope

    async def settle(self, messages: Sequence[Msg]) -> None:
        groups: dict[str, list[tuple[Msg, Envelope[DataT]]]] = defaultdict(list)
        for msg in messages:
            try:
                envelope = self._parse(msg)
            except (PermanentError, ValidationError, ValueError) as error:
                await self._reject(msg, "invalid", str(error))
                continue
            groups[envelope.tenant].append((msg, envelope))
        for tenant, items in groups.items():
            await self._settle_tenant(tenant, items)

    async def _settle_tenant(self, tenant: str, items: list[tuple[Msg, Envelope[DataT]]]) -> None:
        try:
            db = await self.storage.tenant_db(tenant)
            fresh = set(await inbox.unseen(db, self.durable, [e.id for _, e in items]))
        except TRANSIENT_ERRORS as error:
            await self._retry([m for m, _ in items], error)
            return
        todo: list[tuple[Msg, Envelope[DataT]]] = []
        for msg, envelope in items:
            if envelope.id in fresh:
                fresh.discard(envelope.id)  # a second copy in this batch is a duplicate
                todo.append((msg, envelope))
            else:
                await msg.ack()
                self._count("duplicate")
        if todo:
            await self._apply(db, todo, split_on_error=len(todo) > 1)

    async def _apply(
        self, db: Db, todo: list[tuple[Msg, Envelope[DataT]]], *, split_on_error: bool
    ) -> None:
        try:
            refused = await self.apply(db, [e for _, e in todo], self.durable)
        except TRANSIENT_ERRORS as error:
            await self._retry([m for m, _ in todo], error)
            return
        except PermanentError as error:
            if not split_on_error:
                await self._reject(todo[0][0], "invalid", str(error))
                return
            for item in todo:
                await self._apply(db, [item], split_on_error=False)
            return
        except Exception as error:
            if split_on_error:
                log.warning("batch failed; applying its events one by one",
                            consumer=self.durable, error=repr(error))
                for item in todo:
                    await self._apply(db, [item], split_on_error=False)
                return
            log.exception("event handler failed", consumer=self.durable)
            await self._retry([m for m, _ in todo], error, transient=False)
            return
        for msg, envelope in todo:
            reason = refused.get(envelope.id)
            if reason is None:
                await msg.ack()
            else:
                await self._reject(msg, "invalid", reason)
        self._count("applied", len(todo) - len(refused))

    async def _retry(self, msgs: Sequence[Msg], error: BaseException, *,
                     transient: bool = True) -> None:
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


class BatchPuller(Generic[DataT]):
    """The pull loop: fetch up to `batch_size` messages (waiting at most `batch_timeout`),
    settle them, repeat. A plain nats-py loop instead of faststream's batch `PullSub`: its
    loop tops a batch up with fetches whose remaining timeout can approach zero, and a fetch
    that fails then drops the messages already collected until `ack_wait` redelivers them
    (measured: p99 latency = ack_wait)."""

    def __init__(self, settler: BatchSettler[DataT], *, subject: str, stream: str,
                 config: ConsumerConfig, batch_size: int, batch_timeout: float) -> None:
        self.settler = settler
        self.subject = subject
        self.stream = stream
        self.config = config
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def _loop(self, js: JetStreamContext) -> None:
        subscription = await js.pull_subscribe(self.subject, durable=self.config.durable_name,
                                               stream=self.stream, config=self.config)
        try:
            while not self._stopping:
                try:
                    messages = await subscription.fetch(self.batch_size,
                                                        timeout=self.batch_timeout)
                except TimeoutError:
                    continue
                except Exception as error:  # noqa: BLE001 - NATS trouble: unacked ones come back
                    log.warning("batch fetch failed", consumer=self.settler.durable,
                                error=repr(error))
                    await asyncio.sleep(1.0)
                    continue
                try:
                    await self.settler.settle(messages)
                except Exception:
                    # Unsettled messages come back after ack_wait; say why.
                    log.exception("batch settlement failed", consumer=self.settler.durable)
        finally:
            # Leave no subscription behind: the broker's drain on shutdown would wait for it.
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    def start(self, js: JetStreamContext) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(js), name=self.settler.durable)

    async def stop(self) -> None:
        # A flag as well as cancel: a cancelled fetch can surface as TimeoutError (wait_for).
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, timeout=10)
            self._task = None


def batch_consumer(
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
) -> BatchPuller[DataT]:
    """The durable batch consumer `<consumer_service>__<event>`; start it after the broker."""
    durable = durable_name(consumer_service, event_cls)
    settler = BatchSettler(event_cls=event_cls, durable=durable, storage=storage, apply=apply,
                           js=js, max_deliver=max_deliver, metrics=metrics)
    config = ConsumerConfig(
        durable_name=durable,
        max_deliver=max_deliver,
        ack_wait=ack_wait_seconds,
        deliver_policy=DeliverPolicy.ALL,
        max_ack_pending=max(1000, batch_size * 4),
    )
    return BatchPuller(settler, subject=event_cls.subject_filter(),
                       stream=stream_for(event_cls.producer).name, config=config,
                       batch_size=batch_size, batch_timeout=batch_timeout)
