"""Pipelined JetStream publishing: every ack settles its own future; refusals raise."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.aio.client import Client
from nats.js.api import DiscardPolicy, StreamConfig
from nats.js.client import JetStreamContext
from wijkkracht_common.pipelined_publish import PipelinedPublisher, PublishRefused

pytestmark = pytest.mark.integration


@pytest.fixture
async def stream(js: JetStreamContext) -> str:
    name = f"PIPE_{uuid.uuid4().hex[:6].upper()}"
    await js.add_stream(
        StreamConfig(
            name=name, subjects=[f"{name.lower()}.>"], max_msgs=50, discard=DiscardPolicy.NEW
        )
    )
    yield name
    await js.delete_stream(name)


async def test_each_publish_is_acknowledged_and_duplicates_are_stored_once(
    nc: Client, js: JetStreamContext, stream: str
) -> None:
    publisher = PipelinedPublisher(nc)
    subject = f"{stream.lower()}.things"
    futures = [
        await publisher.publish_async(
            subject, f"m{i}".encode(), headers={"Nats-Msg-Id": f"id-{i % 20}"}
        )
        for i in range(30)
    ]  # the last 10 repeat ids already sent
    assert await asyncio.gather(*futures) == [None] * 30
    info = await js.stream_info(stream)
    assert info.state.messages == 20
    first = await js.get_msg(stream, 1)
    assert first.data == b"m0" and first.headers["Nats-Msg-Id"] == "id-0"
    await publisher.close()


async def test_a_refused_message_and_a_subject_without_stream_raise(
    nc: Client, js: JetStreamContext, stream: str
) -> None:
    publisher = PipelinedPublisher(nc)
    subject = f"{stream.lower()}.things"
    stored = [
        await publisher.publish_async(subject, b"x", headers={"Nats-Msg-Id": f"f{i}"})
        for i in range(50)
    ]
    await asyncio.gather(*stored)
    full = await publisher.publish_async(subject, b"x", headers={"Nats-Msg-Id": "over"})
    with pytest.raises(PublishRefused, match="maximum messages"):
        await full
    nowhere = await publisher.publish_async(f"nowhere-{uuid.uuid4().hex}.x", b"x")
    with pytest.raises(PublishRefused, match="no stream"):
        await nowhere
    await publisher.close()


async def test_a_publish_nobody_waits_for_any_more_leaves_nothing_behind(
    nc: Client, stream: str
) -> None:
    publisher = PipelinedPublisher(nc)
    future = await publisher.publish_async(f"{stream.lower()}.things", b"x")
    future.cancel()
    await asyncio.sleep(0.2)  # its ack arrives and finds no one waiting
    assert publisher.in_flight == 0
    await publisher.close()
