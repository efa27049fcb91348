"""Removing an erased person's messages from the event streams (architecture §9).

Streams keep messages for a bounded age only (`ensure_streams`), but within it a message may
still carry the person's id (a response's scores, a consent, an access record). After every
service confirmed an erasure, identity calls `purge_person`: it reads the tenant's messages of
every stream and deletes each one that names the person. A message is deleted only once every
durable consumer that would receive it has acknowledged it (its ack floor is past it), so no
service misses an event it still has to apply; such messages are counted as deferred and the
caller tries again later; a consumer that is not running (no pull request waiting, nothing
delivered for `STALE_CONSUMER_SECONDS`) does not hold a purge back: every service answered the
erasure already and drops later events about the person. `find_person` is the read-only
half, for `wk privacy verify-erasure`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from wijkkracht_common.events.envelope import SUBJECT_ROOT
from wijkkracht_common.messaging import DLQ_STREAM, PRODUCERS, stream_name

_FETCH = 500


@dataclass(frozen=True)
class Residue:
    stream: str
    sequence: int
    subject: str


@dataclass
class PurgeResult:
    deleted: int = 0
    deferred: int = 0  # still to be acknowledged by a consumer: try again later


def tenant_filters(tenant: str) -> list[tuple[str, str]]:
    """(stream, subject filter) of every stream's messages of one tenant."""
    return [
        *((stream_name(p), f"{SUBJECT_ROOT}.{tenant}.{p}.>") for p in PRODUCERS),
        (DLQ_STREAM, f"dlq.{tenant}.>"),
    ]


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching (`*` one token, `>` the rest)."""
    want, have = pattern.split("."), subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(have) > index
        if index >= len(have) or (token != "*" and token != have[index]):
            return False
    return len(want) == len(have)


async def _messages(js: JetStreamContext, stream: str, subject: str) -> AsyncIterator[Msg]:
    """Every stored message of `stream` on `subject`, oldest first (an ephemeral consumer
    without acks: reading changes nothing)."""
    try:
        sub = await js.pull_subscribe(
            subject,
            stream=stream,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=30.0,
            ),
        )
    except NotFoundError:
        return
    try:
        if (await sub.consumer_info()).num_pending == 0:
            return  # nothing of this tenant here: no fetch that waits for its timeout
        while True:
            try:
                batch = await sub.fetch(_FETCH, timeout=5.0)
            except TimeoutError:
                return
            for msg in batch:
                yield msg
            if batch and batch[-1].metadata.num_pending == 0:
                return
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def find_person(js: JetStreamContext, tenant: str, person_id: str) -> list[Residue]:
    """Messages of the tenant, in any stream, that contain the person's id."""
    needle = person_id.encode()
    found: list[Residue] = []
    for stream, subject in tenant_filters(tenant):
        async for msg in _messages(js, stream, subject):
            if needle in msg.data:
                found.append(Residue(stream, msg.metadata.sequence.stream, msg.subject))
    return found


#: A durable consumer that has neither a pull request waiting nor delivered anything for this
#: long is not running (a retired service, a stopped test): it does not hold back a purge.
STALE_CONSUMER_SECONDS = 60.0


def _is_live(info: Any, now: datetime) -> bool:
    if info.num_waiting:
        return True
    last = getattr(info.delivered, "last_active", None) if info.delivered else None
    if isinstance(last, str):
        last = datetime.fromisoformat(last.replace("Z", "+00:00"))
    if not isinstance(last, datetime):
        return False
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return (now - last).total_seconds() < STALE_CONSUMER_SECONDS


async def _ack_floors(js: JetStreamContext, stream: str) -> list[tuple[str, int]]:
    """(filter subject, acknowledged-up-to sequence) of each running durable consumer of the
    stream (see `STALE_CONSUMER_SECONDS`)."""
    floors: list[tuple[str, int]] = []
    now = datetime.now(UTC)
    for info in await js.consumers_info(stream):
        if not info.config.durable_name or not _is_live(info, now):
            continue
        floor = int(info.ack_floor.stream_seq if info.ack_floor else 0)
        patterns = [info.config.filter_subject] if info.config.filter_subject else []
        patterns += list(getattr(info.config, "filter_subjects", None) or [])
        floors.extend((pattern, floor) for pattern in patterns or [">"])
    return floors


async def purge_person(
    js: JetStreamContext, tenant: str, person_id: str, *, streams: Sequence[str] | None = None
) -> PurgeResult:
    """Delete the tenant's messages that contain the person's id, where every durable
    consumer is done with them."""
    result = PurgeResult()
    residue = await find_person(js, tenant, person_id)
    by_stream: dict[str, list[Residue]] = {}
    for item in residue:
        if streams is None or item.stream in streams:
            by_stream.setdefault(item.stream, []).append(item)
    for stream, items in by_stream.items():
        floors = await _ack_floors(js, stream)
        for item in items:
            pending = any(
                _matches(pattern, item.subject) and floor < item.sequence
                for pattern, floor in floors
            )
            if pending:
                result.deferred += 1
                continue
            with contextlib.suppress(NotFoundError):  # aged out or deleted meanwhile
                await js.delete_msg(stream, item.sequence)
            result.deleted += 1
        await asyncio.sleep(0)
    return result
