"""Background jobs that run every N seconds (follow-up scheduling, freshness sweeps,
invitation expiry, mail sending): one implementation of the loop every service needs.

A pass that fails is logged and retried at the next period, so a job outlives any single
failure (the database being away, a bug in one tenant's data); `trigger()` runs the next pass
now instead of waiting; `stop()` cancels cleanly on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from wijkkracht_common.observability import get_logger
from wijkkracht_common.storage import TRANSIENT_ERRORS

log = get_logger(__name__)


class PeriodicTask:
    def __init__(
        self, name: str, work: Callable[[], Awaitable[object]], interval_seconds: float
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.name = name
        self._work = work
        self._interval = interval_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        self.failures = 0

    def trigger(self) -> None:
        """Run the next pass now (e.g. after a commit that gave the job work)."""
        self._wake.set()

    async def run_once(self) -> object:
        return await self._work()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._work()
            except TRANSIENT_ERRORS as error:
                self.failures += 1
                log.warning("periodic job: database unavailable", job=self.name, error=str(error))
            except Exception:
                self.failures += 1
                log.exception("periodic job failed", job=self.name)
            self.passes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
