"""Transactional outbox (architecture §4).

A use case stores its state change and the events it causes in ONE transaction on the
tenant's database (`stage(db, events, session=...)`). The relay, one per process, walks the
service's tenant databases, publishes pending events to JetStream with `Nats-Msg-Id` = event id
(so a publish repeated after a crash is de-duplicated by the stream) and marks them sent.
Everything it needs lives in the database, so it survives restarts: an event is published at
least once by the relay and exactly once into the stream within the duplicate window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from nats.js.client import JetStreamContext
from opentelemetry import propagate, trace

from wijkkracht_common.events.envelope import Envelope, EventData
from wijkkracht_common.observability import ServiceMetrics, get_logger
from wijkkracht_common.storage import (
    ASCENDING,
    TRANSIENT_ERRORS,
    Database,
    IndexModel,
    IndexSpec,
    Session,
    Storage,
)

OUTBOX = "outbox"
PENDING = "pending"
SENT = "sent"

# Not ("status", "_id"): nx-27017 rejects every insert into a collection whose index names
# `_id` ("JSON path error near '_id'"); `_id` is indexed anyway.
OUTBOX_INDEXES = IndexSpec(OUTBOX, (IndexModel([("status", ASCENDING)]),))

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)


def _record(envelope: Envelope[Any]) -> dict[str, Any]:
    headers: dict[str, str] = {}
    propagate.inject(headers)  # keep the causing request's trace across the relay
    return {
        "_id": envelope.id,
        "subject": envelope.nats_subject,
        "type": envelope.type,
        "payload": envelope.model_dump_json(),
        "headers": headers,
        "status": PENDING,
        "created_at": datetime.now(UTC),
    }


async def stage(
    db: Database[dict[str, Any]],
    events: Sequence[Envelope[Any]],
    *,
    session: Session | None = None,
) -> None:
    """Store events for publishing; pass the session of the state change's transaction."""
    if not events:
        return
    records = [_record(e) for e in events]
    if len(records) == 1:
        await db[OUTBOX].insert_one(records[0], session=session)
    else:
        await db[OUTBOX].insert_many(records, ordered=True, session=session)


class OutboxNotifier(Protocol):
    def notify(self) -> None: ...


class OutboxRelay:
    """Publishes staged events of every tenant database of one service."""

    def __init__(
        self,
        storage: Storage,
        jetstream: JetStreamContext,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        metrics: ServiceMetrics | None = None,
        publish_timeout: float = 5.0,
    ) -> None:
        self._storage = storage
        self._js = jetstream
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._metrics = metrics
        self._publish_timeout = publish_timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def notify(self) -> None:
        """Wake the relay now (called after a commit that staged events)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish every pending event once; returns how many were published."""
        published = 0
        backlog = 0
        for tenant in await self._storage.tenants():
            db = await self._storage.tenant_db(tenant)
            while True:
                batch = await (
                    db[OUTBOX]
                    .find({"status": PENDING})
                    .sort("_id", ASCENDING)
                    .limit(self._batch_size)
                    .to_list(None)
                )
                if not batch:
                    break
                sent_ids = await self._publish(batch)
                if sent_ids:
                    await db[OUTBOX].update_many(
                        {"_id": {"$in": sent_ids}},
                        {"$set": {"status": SENT, "sent_at": datetime.now(UTC)}},
                    )
                published += len(sent_ids)
                if len(sent_ids) < len(batch):
                    backlog += len(batch) - len(sent_ids)
                    break  # NATS trouble: retry on the next pass, keep the order
                if len(batch) < self._batch_size:
                    break
        if self._metrics is not None:
            self._metrics.events_published.labels(self._metrics.service_name).inc(published)
            self._metrics.outbox_backlog.labels(self._metrics.service_name).set(backlog)
        return published

    async def _publish(self, batch: Iterable[dict[str, Any]]) -> list[str]:
        docs = list(batch)

        async def one(doc: dict[str, Any]) -> str | None:
            headers = {**doc.get("headers", {}), "Nats-Msg-Id": doc["_id"]}
            ctx = propagate.extract(headers)
            with _tracer.start_as_current_span(
                f"{doc['subject']} publish", context=ctx, kind=trace.SpanKind.PRODUCER
            ):
                propagate.inject(headers)
                try:
                    await self._js.publish(
                        doc["subject"],
                        doc["payload"].encode(),
                        headers=headers,
                        timeout=self._publish_timeout,
                    )
                except Exception as error:  # noqa: BLE001 - any publish failure: retry later
                    log.warning("outbox publish failed", subject=doc["subject"], error=str(error))
                    return None
            return str(doc["_id"])

        results = await asyncio.gather(*(one(d) for d in docs))
        # Only a prefix counts as sent, so a retry never reorders events of one aggregate.
        sent: list[str] = []
        for result in results:
            if result is None:
                break
            sent.append(result)
        return sent

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except TRANSIENT_ERRORS as error:
                log.warning("outbox relay: database unavailable", error=str(error))
            except Exception:
                log.exception("outbox relay pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def pending_count(db: Database[dict[str, Any]]) -> int:
    return int(await db[OUTBOX].count_documents({"status": PENDING}))


def event_records(events: Sequence[Envelope[EventData]]) -> list[dict[str, Any]]:
    """The documents `stage` writes; for callers that batch their own writes."""
    return [_record(e) for e in events]
