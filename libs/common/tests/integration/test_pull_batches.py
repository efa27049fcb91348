"""BatchPuller: batches as nats-py's fetch gives them, nothing dropped, failures raised."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.client import JetStreamContext
from wijkkracht_common.pull_batches import BatchPuller, PullFailed

pytestmark = pytest.mark.integration


@pytest.fixture
async def stream(js: JetStreamContext) -> AsyncIterator[str]:
    name = f"PULL_{uuid.uuid4().hex[:6].upper()}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
    await js.add_consumer(name, ConsumerConfig(durable_name="c", ack_wait=30))
    yield name
    await js.delete_stream(name)


async def publish(js: JetStreamContext, stream: str, numbers: range) -> None:
    for n in numbers:
        await js.publish(f"{stream.lower()}.x", str(n).encode())


async def test_what_the_consumer_holds_comes_in_batches_in_order(
    nc: Client, js: JetStreamContext, stream: str
) -> None:
    await publish(js, stream, range(25))
    puller = BatchPuller(nc, stream, "c")
    batches = [await puller.fetch(10, 2.0) for _ in range(3)]
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [int(m.data) for b in batches for m in b] == list(range(25))
    for msg in batches[0]:
        await msg.ack()
    assert batches[0][0].metadata.num_delivered == 1
    assert await puller.fetch(10, 0.2) == []  # nothing left that is not waiting for its ack
    assert await puller.close() == []


async def test_a_fetch_waits_for_messages_published_while_it_waits(
    nc: Client, js: JetStreamContext, stream: str
) -> None:
    puller = BatchPuller(nc, stream, "c")
    fetching = asyncio.create_task(puller.fetch(10, 5.0))
    await asyncio.sleep(0.3)
    await publish(js, stream, range(3))
    got = await fetching  # as soon as the first is there, with those there are then
    assert got and int(got[0].data) == 0
    while len(got) < 3:
        more = await puller.fetch(10, 1.0)
        assert more, "a published message never came"
        got += more
    assert [int(m.data) for m in got] == [0, 1, 2]
    await puller.close()


async def test_messages_of_a_fetch_nobody_waits_for_are_kept_not_dropped(
    nc: Client, js: JetStreamContext, stream: str
) -> None:
    puller = BatchPuller(nc, stream, "c")
    fetching = asyncio.create_task(puller.fetch(10, 5.0))  # its request stays open on the server
    await asyncio.sleep(0.3)
    fetching.cancel()  # e.g. the consumer stops
    with pytest.raises(asyncio.CancelledError):
        await fetching
    await publish(js, stream, range(2))
    for _ in range(100):  # the open request delivers to the puller, whose fetch is gone
        if puller.buffered:
            break
        await asyncio.sleep(0.05)
    left = await puller.close()
    assert left and int(left[0].data) == 0
    for msg in left:
        await msg.nak()  # as the batch consumer does on stop: redelivered at once

    again = BatchPuller(nc, stream, "c")
    seen: list[int] = []
    while set(seen) != {0, 1}:
        batch = await again.fetch(10, 2.0)
        assert batch, "a message was lost"
        seen += [int(m.data) for m in batch]
    assert sorted(seen) == [0, 1]
    await again.close()


async def test_messages_published_after_close_do_not_wait_for_ack_wait(
    nc: Client, js: JetStreamContext, stream: str
) -> None:
    """A closed puller's request may still be open on the server: nats-server drops a pull
    request whose reply subject lost its interest, so what is published afterwards is not
    sent to an inbox nobody listens to (where it would wait for `ack_wait`, 30 s here); a
    partition handed to another replica gets it at once."""
    puller = BatchPuller(nc, stream, "c")
    fetching = asyncio.create_task(puller.fetch(10, 1.5))  # its request stays open 1.5 s
    await asyncio.sleep(0.3)
    fetching.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fetching
    assert await puller.close() == []
    await publish(js, stream, range(2))  # the closed puller's request has not expired yet

    successor = BatchPuller(nc, stream, "c")
    seen: list[int] = []
    deadline = asyncio.get_running_loop().time() + 5.0  # well before ack_wait's 30 s
    while set(seen) != {0, 1} and asyncio.get_running_loop().time() < deadline:
        seen += [int(m.data) for m in await successor.fetch(10, 0.5)]
    await successor.close()
    assert sorted(set(seen)) == [0, 1]


async def test_a_missing_consumer_fails_the_fetch(nc: Client, stream: str) -> None:
    puller = BatchPuller(nc, stream, "no-such-consumer")
    with pytest.raises(PullFailed, match="503"):
        await puller.fetch(10, 1.0)
    await puller.close()
