"""Waiting for conditions in tests (never for fixed pauses): the one helper to use."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    timeout: float = 60.0,  # noqa: ASYNC109 - a deadline for polling, not for one await
    interval: float = 0.05,
) -> T:
    """Call `check` until it returns a truthy value and return that value; fail after
    `timeout` seconds. The default timeout leaves room for a busy shared CI machine: a
    passing test never waits for it, only a failing one does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"condition not reached within {timeout:.0f} s: {check!r}")
        await asyncio.sleep(interval)
