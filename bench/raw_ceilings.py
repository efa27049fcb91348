"""Raw limits of the embedded stack, measured with the bare clients (no Wijkkracht code):
nats-py JetStream publish (sequential and pipelined) and consume, and motor insert_one /
insert_many on the embedded database. Service benchmarks compare against these.

    .venv/bin/python bench/raw_ceilings.py [--messages 20000] [--docs 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import nats
from _stack import Stack, embedded_stack, row
from motor.motor_asyncio import AsyncIOMotorClient
from nats.js.api import StreamConfig


async def nats_ceilings(stack: Stack, messages: int) -> dict[str, float]:
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream()
    name = f"RAW{uuid.uuid4().hex[:6].upper()}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"raw.{name}.>"]))
    payload = b"x" * 400  # about the size of a response_submitted envelope
    results: dict[str, float] = {}

    n_seq = min(messages, 5000)
    start = time.perf_counter()
    for i in range(n_seq):
        await js.publish(f"raw.{name}.a", payload, headers={"Nats-Msg-Id": f"s{i}"})
    results["js_publish_sequential"] = n_seq / (time.perf_counter() - start)

    start = time.perf_counter()
    window = 500
    for offset in range(0, messages, window):
        await asyncio.gather(
            *(
                js.publish(f"raw.{name}.b", payload, headers={"Nats-Msg-Id": f"p{offset + i}"})
                for i in range(min(window, messages - offset))
            )
        )
    results["js_publish_pipelined"] = messages / (time.perf_counter() - start)

    sub = await js.pull_subscribe(f"raw.{name}.b", durable="raw")
    got = 0
    start = time.perf_counter()
    while got < messages:
        batch = await sub.fetch(500, timeout=5)
        for msg in batch:
            await msg.ack()
        got += len(batch)
    results["js_consume_ack"] = got / (time.perf_counter() - start)
    await js.delete_stream(name)
    await nc.drain()
    return results


async def db_ceilings(stack: Stack, docs: int) -> dict[str, float]:
    client: AsyncIOMotorClient = AsyncIOMotorClient(stack.mongo_url)  # type: ignore[type-arg]
    db = client[f"wk_raw_{uuid.uuid4().hex[:6]}"]
    results: dict[str, float] = {}
    n_one = min(docs, 3000)
    start = time.perf_counter()
    for i in range(n_one):
        await db.one.insert_one({"_id": f"d{i}", "n": i, "tenant": "x", "score": 5.5})
    results["insert_one_sequential"] = n_one / (time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(db.conc.insert_one({"_id": f"d{i}", "n": i}) for i in range(n_one)))
    results["insert_one_concurrent"] = n_one / (time.perf_counter() - start)

    start = time.perf_counter()
    for offset in range(0, docs, 1000):
        await db.many.insert_many(
            [
                {"_id": f"d{offset + i}", "n": offset + i, "tenant": "x", "score": 5.5}
                for i in range(min(1000, docs - offset))
            ]
        )
    results["insert_many"] = docs / (time.perf_counter() - start)
    await client.drop_database(db.name)
    client.close()
    return results


async def measure(stack: Stack, messages: int, docs: int) -> dict[str, float]:
    return {**await nats_ceilings(stack, messages), **await db_ceilings(stack, docs)}


def report(results: dict[str, float]) -> None:
    print("Raw ceilings (same machine, same run)")
    labels = {
        "js_publish_sequential": "nats-py JetStream publish, one at a time",
        "js_publish_pipelined": "nats-py JetStream publish, 500 in flight",
        "js_consume_ack": "nats-py JetStream pull consume + ack",
        "insert_one_sequential": "motor insert_one, sequential",
        "insert_one_concurrent": "motor insert_one, concurrent",
        "insert_many": "motor insert_many (1,000 per call)",
    }
    for key, label in labels.items():
        row(label, f"{results[key]:,.0f} /s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--docs", type=int, default=20000)
    args = parser.parse_args()
    with embedded_stack() as stack:
        report(asyncio.run(measure(stack, args.messages, args.docs)))


if __name__ == "__main__":
    main()
