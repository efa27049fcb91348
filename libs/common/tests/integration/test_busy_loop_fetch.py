"""Single-event subscribers keep their pull task while the event loop is busy
(`wijkkracht_common.fetch_timeouts`).

nats-py 2.16's `fetch` raises the builtin `TimeoutError` when its deadline runs out between
its probe and its waiting request; faststream's pull loop stops only nats-py's own
`TimeoutError`, so the builtin one ended the subscriber's task (faststream starts another,
logs an error and keeps the failed one, traceback and all). A loop busy in short stretches
(as while ingestion folds a batch) makes an idle fetch resume after its deadline nearly every
time: without the fix the first test saw 39 builtin time-outs in 40 fetches, and the second
found failed tasks piling up (three in five seconds)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import nats.errors
import pytest
from faststream.nats import NatsBroker
from nats.js.client import JetStreamContext
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.messaging import Delivery, ensure_streams, subscribe
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


class Pinged(EventData):
    producer: ClassVar[str] = "questionnaires"
    event_name: ClassVar[str] = "pinged_test"
    n: int


@contextlib.asynccontextmanager
async def busy_loop(stretch: float = 0.005) -> AsyncIterator[None]:
    """Hold the event loop in short CPU-bound stretches, as a busy service does."""
    stopping = asyncio.Event()

    async def hog() -> None:
        while not stopping.is_set():
            time.sleep(stretch)
            await asyncio.sleep(0)

    task = asyncio.create_task(hog())
    try:
        yield
    finally:
        stopping.set()
        await task


async def test_fetch_time_outs_on_a_busy_loop_are_nats_time_outs(js: JetStreamContext) -> None:
    subject = f"questionnaires.busy{uuid.uuid4().hex[:6]}.x"
    await js.add_stream(name=f"BUSY{uuid.uuid4().hex[:6]}", subjects=[subject])
    sub = await js.pull_subscribe(subject, durable=f"busy{uuid.uuid4().hex[:6]}")
    outcomes: list[str] = []
    async with busy_loop():
        for _ in range(40):
            try:
                await sub.fetch(batch=64, timeout=0.05)
                outcomes.append("messages")
            except nats.errors.TimeoutError:
                outcomes.append("nats timeout")
            except TimeoutError:
                outcomes.append("builtin timeout")
    assert "builtin timeout" not in outcomes
    assert outcomes.count("nats timeout") == 40  # the stream is empty: every fetch times out


async def test_a_subscriber_keeps_its_task_while_the_loop_is_busy(nats_url: str) -> None:
    service = f"svc{uuid.uuid4().hex[:6]}"
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    broker = NatsBroker(nats_url, logger=None)
    seen: list[int] = []

    async def handler(envelope: Envelope[Pinged], delivery: Delivery) -> bool:
        seen.append(envelope.data.n)
        return True

    async def handled(n: int) -> bool:
        return n in seen

    await broker.connect()
    js = broker.config.broker_config.connection_state.stream
    await ensure_streams(js)
    subscribe(broker, consumer_service=service, event_cls=Pinged, handler=handler, js=lambda: js)
    await broker.start()
    try:
        await publish(js, new_event(Pinged(n=1), tenant=tenant, subject="a"))
        await eventually(lambda: handled(1))
        # Idle stream, busy loop: the subscriber's fetches (timeout 1 s) time out meanwhile.
        # The 4 s are the load under test, not a wait for a result.
        async with busy_loop():
            await asyncio.sleep(4.0)
            await publish(js, new_event(Pinged(n=2), tenant=tenant, subject="b"))
            await eventually(lambda: handled(2))
        tasks = [task for subscriber in broker.subscribers for task in subscriber.tasks]
        failed = [task for task in tasks if task.done() and task.exception() is not None]
        assert failed == []
        assert any(not task.done() for task in tasks)
    finally:
        await broker.stop()


async def publish(js: JetStreamContext, envelope: Envelope[Any]) -> None:
    await js.publish(
        envelope.nats_subject,
        envelope.model_dump_json().encode(),
        headers={"Nats-Msg-Id": envelope.id},
    )
