"""argon2id takes 64 MiB per hash: at most a fixed number run at once, the rest wait."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from identity.service.passwords import HashingSlots, available_cpus
from wijkkracht_common.testing.waiting import eventually

from .fakes import FakeWorld, fake_identity


class BlockingHasher:
    """Counts the hashes running at once; each waits until the test releases them."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.done = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.release.wait(timeout=30)
        with self._lock:
            self.running -= 1
            self.done += 1
        return f"hashed:{password}"


async def test_a_burst_of_hashes_runs_at_most_the_slots_at_once() -> None:
    slots = HashingSlots(2)
    hasher = BlockingHasher()
    burst = [asyncio.create_task(slots.run(hasher.hash, f"pw-{i}")) for i in range(10)]

    async def two_running() -> bool:
        return hasher.running == 2

    await eventually(two_running)
    await asyncio.sleep(0)  # let any further task try to start (it must wait for a slot)
    assert hasher.running == 2 and hasher.done == 0
    assert sum(not t.done() for t in burst) == 10
    hasher.release.set()
    results = await asyncio.gather(*burst)
    assert results == [f"hashed:pw-{i}" for i in range(10)]
    assert hasher.peak == 2 and hasher.done == 10


async def test_the_service_bounds_its_hashes_by_the_setting_or_twice_the_cpus() -> None:
    ctx = fake_identity(FakeWorld(), password_hash_concurrency=3)
    assert ctx.hashing.size == 3
    assert fake_identity(FakeWorld()).hashing.size == 2 * available_cpus()
    hashed = await ctx.hash_password("paars-fietsje-op-dinsdag")
    assert await ctx.verify_password(hashed, "paars-fietsje-op-dinsdag")
    assert not await ctx.verify_password(None, "paars-fietsje-op-dinsdag")
    with pytest.raises(ValueError):
        HashingSlots(0)


def test_available_cpus_follow_the_containers_cpu_limit(tmp_path: Path) -> None:
    limited = tmp_path / "cpu.max"
    limited.write_text("150000 100000\n")
    assert available_cpus(limited) == 2  # 1.5 CPUs: two slots' worth of threads
    limited.write_text("max 100000\n")
    assert available_cpus(limited) >= 1  # no limit: the CPUs the process may run on
    assert available_cpus(tmp_path / "missing") >= 1
