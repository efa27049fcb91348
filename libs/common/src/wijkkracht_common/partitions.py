"""Partitioned consumers: each person's events reach one replica, in order.

A partitioned event (`EventData.partition_by`) has subjects ending in a slot, a stable hash of
its person (`envelope.partition_slot`, 64 slots). A consumer splits the slots into `count`
partitions (slot `s` belongs to partition `s % count`); each partition is a durable consumer of
its own (`<durable>__p<k>of<count>`, filtering its slots), pulled by one replica at a time.

Which replica pulls which partition is decided by leases in a NATS KV bucket
(`WK_LEASES_<durable>__of<count>`, whose keys expire `lease_seconds` after their last write):

- `member.<replica>`: each live replica rewrites it every `lease_seconds / 3`;
- `partition.<k>`: the owner's replica id, created only when absent (`create`), rewritten by its
  owner with a revision check (`update(last=...)`), so two replicas never both hold it.

Each round a replica refreshes what it holds and applies `rebalance`: every live replica's fair
share is `count / replicas` (the first replicas by id take one more when it does not divide);
one above its share stops its highest partitions and deletes their keys; one below it creates
keys of free ones. A replica that leaves stops its partitions and deletes their keys (the others
take them in the next round); a killed one's keys expire after `lease_seconds`. A replica that
could not refresh a lease for 80 % of `lease_seconds` stops that partition on its own, before
the key can expire and be taken (its clock is the only one it can trust).

Leases make one replica the usual writer of each person's data (its per-person caches stay
valid); they are not what keeps the data right. At a hand-over the old owner may still be
applying a batch while the new one starts (its stop waits for that batch up to the service's
grace), so a consumer's `apply` must stay correct under overlap (effect measurement's version
checks and natural keys) and its unacked messages come again to the new owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from wijkkracht_common.events.envelope import PARTITION_SLOTS, EventData
from wijkkracht_common.observability import get_logger

log = get_logger(__name__)

__all__ = [
    "LeaseView",
    "PartitionLeases",
    "partition_filters",
    "partition_slots",
    "rebalance",
    "replica_id",
]

#: Share of `lease_seconds` after the last successful refresh at which a holder stops on its
#: own: before the key expires and another replica may take it.
_FENCE = 0.8


def partition_slots(count: int, index: int) -> list[int]:
    """The slots of partition `index` of `count`."""
    if not 1 <= count <= PARTITION_SLOTS or not 0 <= index < count:
        raise ValueError(f"partition {index} of {count}: 1 ≤ count ≤ {PARTITION_SLOTS}")
    return [slot for slot in range(PARTITION_SLOTS) if slot % count == index]


def partition_filters(event_cls: type[EventData], count: int, index: int) -> list[str]:
    """What the durable of partition `index` of `count` filters: its slots, and for partition
    0 also the event's subject from before it was partitioned (`consumer_filters`), so events
    published under it before an upgrade are not skipped."""
    filters = event_cls.slot_filters(partition_slots(count, index))
    return [event_cls.consumer_filters()[0], *filters] if index == 0 else filters


def replica_id() -> str:
    """This process's id among the replicas: host (the pod's name), pid and a random part
    (a restarted process with a reused pid is a new replica)."""
    raw = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw)


@dataclass(frozen=True)
class LeaseView:
    """What a round read: the live replicas and who holds each partition."""

    members: frozenset[str]
    owners: Mapping[int, str] = field(default_factory=dict)


def rebalance(me: str, view: LeaseView, count: int) -> tuple[list[int], list[int]]:
    """(partitions to let go, free partitions to try to take) for replica `me`.

    Shares are fixed by the sorted replica ids, so every replica computes the same ones and
    repeated rounds settle with each holding its share and every partition held."""
    members = sorted(view.members | {me})
    base, extra = divmod(count, len(members))
    share = base + (1 if members.index(me) < extra else 0)
    mine = sorted(p for p, owner in view.owners.items() if owner == me)
    free = [p for p in range(count) if p not in view.owners]
    release = mine[share:]
    take = free[: max(0, share - len(mine))]
    return release, take


PartitionStep = Callable[[int], Awaitable[None]]


class PartitionLeases:
    """The lease loop of one replica for one partitioned consumer (see the module docstring).
    `on_acquire(k)` starts pulling partition k, `on_release(k)` stops it (awaited before its key
    is deleted)."""

    def __init__(
        self,
        *,
        group: str,
        count: int,
        member: str,
        lease_seconds: float,
        on_acquire: PartitionStep,
        on_release: PartitionStep,
        clock: Callable[[], float] | None = None,
        replicas: int = 1,
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.group = group
        # Per partition count: during a rolling change of it, `partition.k` of the old count
        # and of the new one are different leases.
        self.bucket = f"WK_LEASES_{group}__of{count}"
        self.count = count
        self.member = member
        self.lease_seconds = lease_seconds
        self.replicas = replicas  # of the bucket's stream, like the event streams'
        self._on_acquire = on_acquire
        self._on_release = on_release
        self._clock = clock or asyncio.get_running_loop().time
        self._kv: KeyValue | None = None
        self._js: JetStreamContext | None = None
        #: partition → (revision of our last write, when we sent it)
        self.held: dict[int, tuple[int, float]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        #: Partitions being let go: their consumers finish the batch being applied (up to the
        #: service's grace) while the rounds go on refreshing every lease, theirs included.
        self._releasing: dict[int, asyncio.Task[None]] = {}

    @property
    def period(self) -> float:
        return self.lease_seconds / 3

    async def _bucket(self, js: JetStreamContext) -> KeyValue:
        try:
            kv = await js.key_value(self.bucket)
        except Exception:  # noqa: BLE001 - absent: create it (a race with another replica is fine)
            with contextlib.suppress(Exception):
                await js.create_key_value(
                    bucket=self.bucket, ttl=self.lease_seconds, history=1, replicas=self.replicas
                )
            kv = await js.key_value(self.bucket)
        # The bucket's key age is the lease every replica must refresh within: a replica
        # started with another setting follows the bucket rather than lose its leases.
        ttl = (await kv.status()).ttl
        if ttl and abs(ttl - self.lease_seconds) > 1e-3:
            log.warning(
                "partition lease follows its bucket",
                group=self.group,
                configured=self.lease_seconds,
                bucket=ttl,
            )
            self.lease_seconds = ttl
        return kv

    async def start(self, js: JetStreamContext) -> None:
        """Join: announce this replica, take a first share, keep going in the background."""
        self._js = js
        self._kv = await self._bucket(js)
        await self.round()
        self._task = asyncio.create_task(self._loop(), name=f"leases {self.group}")

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.period)
            self._wake.clear()
            try:
                # Bounded: a round stuck on an unanswered request must not outlive the fence.
                await asyncio.wait_for(self.round(), self.lease_seconds / 2)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - NATS trouble: the fence still runs
                log.warning("partition lease round failed", group=self.group, error=repr(error))
            try:
                await self._fence()
            except Exception:
                log.exception("partition lease fence failed", group=self.group)

    def nudge(self) -> None:
        """Run the next round now (tests; a replica that just joined)."""
        self._wake.set()

    async def _fence(self) -> None:
        """Stop partitions whose lease may expire before we can refresh it."""
        now = self._clock()
        for partition, (_, sent) in list(self.held.items()):
            if now - sent > self.lease_seconds * _FENCE:
                log.warning("partition lease lapsed", group=self.group, partition=partition)
                self._drop(partition)

    def _drop(self, partition: int) -> None:
        """It is no longer ours: stop its consumer (in the background), delete nothing."""
        self.held.pop(partition, None)
        if partition not in self._releasing:
            self._releasing[partition] = asyncio.create_task(self._stop_dropped(partition))

    async def _stop_consumer(self, partition: int) -> None:
        try:
            await self._on_release(partition)
        except Exception:
            log.exception("partition stop failed", group=self.group, partition=partition)

    async def _stop_dropped(self, partition: int) -> None:
        try:
            await self._stop_consumer(partition)
        finally:
            self._releasing.pop(partition, None)

    def _start_letting_go(self, kv: KeyValue, partition: int) -> None:
        if partition not in self._releasing:
            self._releasing[partition] = asyncio.create_task(self._let_go(kv, partition))

    async def round(self) -> None:
        """One round: announce, refresh, read the view, let go and take."""
        kv = self._kv
        assert kv is not None, "start() first"
        await kv.put(f"member.{self.member}", b"live")
        for partition, (revision, last_sent) in list(self.held.items()):
            sent = self._clock()
            key = self._key(partition)
            try:
                new = await kv.update(key, self.member.encode(), last=revision)
            except KeyWrongLastSequenceError:
                # Perhaps our own earlier write, whose answer was lost: keep it if it is ours.
                entry = await self._entry(kv, key)
                if entry is not None and entry.value == self.member.encode():
                    self.held[partition] = (int(entry.revision or 0), last_sent)
                    continue
                log.warning("partition lease lost", group=self.group, partition=partition)
                self._drop(partition)
                continue
            except KeyNotFoundError:
                log.warning("partition lease lost", group=self.group, partition=partition)
                self._drop(partition)
                continue
            if partition in self.held:  # not dropped by the fence meanwhile
                self.held[partition] = (new, sent)
        view = await self._view(kv)
        release, take = rebalance(self.member, view, self.count)
        for partition in release:
            self._start_letting_go(kv, partition)
        for partition in take:
            if partition in self._releasing:
                continue  # its consumer here is still stopping: take it at a later round
            sent = self._clock()
            try:
                revision = await kv.create(self._key(partition), self.member.encode())
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                continue  # another replica was first (or its key expired just now)
            self.held[partition] = (revision, sent)
            log.info("partition taken", group=self.group, partition=partition, member=self.member)
            try:
                await self._on_acquire(partition)
            except Exception:
                log.exception("partition start failed", group=self.group, partition=partition)
                self._start_letting_go(kv, partition)

    @staticmethod
    async def _entry(kv: KeyValue, key: str) -> KeyValue.Entry | None:
        try:
            return await kv.get(key)
        except KeyNotFoundError:
            return None

    def _key(self, partition: int) -> str:
        return f"partition.{partition}"

    async def _view(self, kv: KeyValue) -> LeaseView:
        assert self._js is not None
        # One request lists the keys written within the lease (deleted ones included: their
        # markers stay until they expire, so each key's latest value is read).
        info = await self._js.stream_info(
            f"KV_{self.bucket}", subjects_filter=f"$KV.{self.bucket}.>"
        )
        prefix = f"$KV.{self.bucket}."
        keys = [subject[len(prefix) :] for subject in info.state.subjects or {}]
        values = await asyncio.gather(*(self._value(kv, key) for key in keys))
        members: set[str] = set()
        owners: dict[int, str] = {}
        for key, value in zip(keys, values, strict=True):
            kind, _, name = key.partition(".")
            if value is None:
                continue
            if kind == "member":
                members.add(name)
            elif kind == "partition" and name.isdigit():
                owners[int(name)] = value
        for partition in [*self.held, *self._releasing]:
            owners[partition] = self.member
        return LeaseView(frozenset(members), owners)

    @classmethod
    async def _value(cls, kv: KeyValue, key: str) -> str | None:
        entry = await cls._entry(kv, key)  # None: deleted, or expired since the listing
        return entry.value.decode() if entry is not None and entry.value else None

    async def _let_go(self, kv: KeyValue, partition: int) -> None:
        """Stop its consumer (the rounds keep refreshing its lease meanwhile), then delete its
        key so another replica takes it at once."""
        try:
            await self._stop_consumer(partition)
        finally:
            held = self.held.pop(partition, None)
            self._releasing.pop(partition, None)
        if held is not None:
            with contextlib.suppress(Exception):  # expired or taken meanwhile: nothing to delete
                await kv.delete(self._key(partition), last=held[0])
            log.info("partition released", group=self.group, partition=partition)

    async def stop(self) -> None:
        """Leave: stop every partition, then delete its key and this replica's member key, so
        the others take them at their next round instead of after the lease."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        kv = self._kv
        if kv is None:
            return
        for partition in list(self.held):
            self._start_letting_go(kv, partition)
        while self._releasing:  # those let go earlier too: no consumer outlives the service
            await asyncio.gather(*list(self._releasing.values()), return_exceptions=True)
        with contextlib.suppress(Exception):
            await kv.delete(f"member.{self.member}")
