"""Outbox relay throughput: events staged in a tenant database → published to JetStream
(with Nats-Msg-Id) → marked sent. Target ≥ 2,000 events/s; compared with raw pipelined
JetStream publishing measured in the same run.

    .venv/bin/python bench/bench_outbox.py [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import ClassVar

import nats
from _stack import embedded_stack, row
from raw_ceilings import nats_ceilings
from wijkkracht_common.events.envelope import EventData, new_event
from wijkkracht_common.messaging import ensure_streams
from wijkkracht_common.outbox import OutboxRelay, pending_count, stage
from wijkkracht_common.pipelined_publish import PipelinedPublisher
from wijkkracht_common.runtime import COMMON_INDEXES
from wijkkracht_common.storage import Storage


class BenchHappened(EventData):
    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "bench_happened"
    person_id: str
    n: int


async def run(events: int) -> None:
    with embedded_stack() as stack:
        raw = await nats_ceilings(stack, min(events, 10000))
        storage = Storage(stack.mongo_url, "benchoutbox", COMMON_INDEXES)
        tenant = f"bench-{uuid.uuid4().hex[:6]}"
        db = await storage.tenant_db(tenant)
        envelopes = [
            new_event(BenchHappened(person_id=f"p{i}", n=i), tenant=tenant, subject=f"p{i}")
            for i in range(events)
        ]
        for offset in range(0, len(envelopes), 1000):
            await stage(db, envelopes[offset : offset + 1000])

        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        await ensure_streams(js)
        # The publisher the services' runtime gives the relay.
        relay = OutboxRelay(storage, PipelinedPublisher(nc), batch_size=1000)
        start = time.perf_counter()
        published = await relay.run_once()
        elapsed = time.perf_counter() - start
        info = await js.stream_info("IDENTITY")
        left = await pending_count(db)
        await nc.drain()
        storage.close()

    rate = published / elapsed
    print(f"Outbox relay ({events:,} staged events, batch 1,000)")
    row("raw: nats-py JetStream publish, 500 in flight", f"{raw['js_publish_pipelined']:,.0f} /s")
    row(
        "relay: staged → JetStream → removed from outbox",
        f"{rate:,.0f} events/s",
        "target ≥ 2,000/s",
    )
    row("relay / raw publish", f"{rate / raw['js_publish_pipelined']:.0%}")
    row("messages in stream / still pending", f"{info.state.messages:,} / {left}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(run(args.events))


if __name__ == "__main__":
    main()
