"""Password hashing with argon2id (argon2-cffi).

Hashing and verifying cost tens of milliseconds of CPU on purpose, and memory: each one
takes `memory_cost_kib` (64 MiB by default) while it runs. Async code runs them through
`HashingSlots`: off the event loop (otherwise every login blocks all other requests of the
process) and at most a fixed number at once, so a burst of logins waits for a slot instead
of taking more memory than the pod has.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from argon2 import PasswordHasher as _Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


class PasswordHasher:
    def __init__(
        self, *, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 4
    ) -> None:
        self._hasher = _Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """False on mismatch or on a corrupt stored hash (never raises for bad input)."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when parameters were raised since; rehash after a successful login."""
        return self._hasher.check_needs_rehash(password_hash)

    def dummy_verify(self, password: str) -> None:
        """Spend the same work when the account does not exist, so timing does not reveal it."""
        self.verify(self._dummy_hash(), password)

    def _dummy_hash(self) -> str:
        cached: str | None = getattr(self, "_dummy", None)
        if cached is None:
            cached = self._hasher.hash("wijkkracht-dummy-password")
            self._dummy = cached
        return cached


class HashingSlots:
    """Runs hashing work in a thread, at most `size` at a time (the others wait, on the event
    loop, for a free slot)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one hashing slot")
        self.size = size
        self._slots = asyncio.Semaphore(size)

    async def run(self, work: Callable[..., T], *args: object) -> T:
        async with self._slots:
            return await asyncio.to_thread(work, *args)


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may use: the container's CPU limit (cgroup v2 `cpu.max`)
    where one is set, else the CPUs it may run on. `os.cpu_count()` alone counts the whole
    node, which would size the slots for a machine the pod does not have."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
