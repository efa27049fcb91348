"""Admission control: shed load early instead of queueing without bound.

A service under more requests than it can serve used to accept them all: they queued in the
event loop and every request got slow (100 submits/s on a busy machine drove the p99 of the
questionnaires to 21 s). Here at most `max_concurrent_requests` requests run at once; a request
that finds them all busy waits in a short FIFO queue for at most `admission_wait_ms`, and when
no slot frees up in that time, or the queue is full, it is answered at once with a 503 problem
and `Retry-After`. The requests that are admitted keep their latency; the ones refused cost
the service almost nothing and the client knows when to come back.

Probes (`/healthz`, `/readyz`, `/metrics`) are always admitted: an orchestrator must see a
busy service as alive. Plain ASGI (no task or stream per request).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from wijkkracht_common.errors import ServiceUnavailable, problem_response
from wijkkracht_common.observability import ServiceMetrics

#: scope key: when the request arrived (perf_counter), so the request metrics count the wait
ARRIVED = "wk.arrived"

BUSY_TEXT = (
    "Het is nu te druk; probeer het over een paar seconden opnieuw. / The service is busy "
    "right now; please try again in a few seconds."
)


def busy(retry_after_seconds: int) -> ServiceUnavailable:
    """The 503 problem of a request shed because the service is at its limit."""
    return ServiceUnavailable(
        BUSY_TEXT, kind="service-busy", headers={"Retry-After": str(retry_after_seconds)}
    )


class Admission:
    """Counts running requests and hands freed slots to waiters in arrival order.

    The wait is bounded the CoDel way (as in Facebook's server queues): while the queue
    empties now and then, a request may wait `wait_seconds` for a slot (a burst passes); once
    it has not been empty for `interval_seconds` the service is overloaded, not bursting, and a
    request waits at most `overloaded_wait_seconds` before it is shed, until the queue has been
    empty for `interval_seconds` again. Under sustained overload the admitted requests spend
    almost no time queued, and a shed one holds nothing for long."""

    def __init__(
        self,
        limit: int,
        max_waiting: int,
        wait_seconds: float,
        *,
        overloaded_wait_seconds: float | None = None,
        interval_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.overloaded_wait_seconds = (
            wait_seconds / 10 if overloaded_wait_seconds is None else overloaded_wait_seconds
        )
        self.interval_seconds = 2 * wait_seconds if interval_seconds is None else interval_seconds
        self.running = 0
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._clock = clock
        self._changed_at = clock()  # when the queue last became empty, or non-empty
        self.overloaded = False

    def _mode(self) -> bool:
        """Overloaded after the queue stayed non-empty for the interval; back to normal after
        it stayed empty as long."""
        if self._clock() - self._changed_at > self.interval_seconds:
            self.overloaded = bool(self._waiters)
        return self.overloaded

    async def acquire(self) -> bool:
        """True when a slot is held (release it later); False when the request is shed."""
        if self.running < self.limit and not self._waiters:
            self.running += 1
            return True
        if len(self._waiters) >= self.max_waiting:
            return False
        wait = self.overloaded_wait_seconds if self._mode() else self.wait_seconds
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        if not self._waiters:
            self._changed_at = self._clock()
        self._waiters.append(waiter)
        timer = loop.call_later(wait, self._expire, waiter)
        try:
            return await waiter  # True: handed a slot; False: the wait ran out
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.release()  # handed a slot, but the request is gone: pass it on
            else:
                self._remove(waiter)
            raise
        finally:
            timer.cancel()

    def release(self) -> None:
        """Hand the slot to the oldest waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot moves on: `running` stays the same
                self._emptied()
                return
        self.running -= 1

    def _expire(self, waiter: asyncio.Future[bool]) -> None:
        if not waiter.done():
            waiter.set_result(False)
            self._remove(waiter)

    def _remove(self, waiter: asyncio.Future[bool]) -> None:
        with contextlib.suppress(ValueError):  # already handed over
            self._waiters.remove(waiter)
            self._emptied()

    def _emptied(self) -> None:
        if not self._waiters:
            now = self._clock()
            if now - self._changed_at > self.interval_seconds:
                self.overloaded = True  # it was non-empty all that time
            self._changed_at = now

    @property
    def waiting(self) -> int:
        return len(self._waiters)


class AdmissionControlMiddleware:
    """Admits at most `limit` concurrent requests; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        max_waiting: int,
        wait_seconds: float,
        retry_after_seconds: int,
        metrics: ServiceMetrics,
        exempt: Callable[[MutableMapping[str, Any]], bool],
    ) -> None:
        self.app = app
        self.admission = Admission(limit, max_waiting, wait_seconds)
        self.retry_after_seconds = retry_after_seconds
        self.metrics = metrics
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        scope[ARRIVED] = time.perf_counter()
        if not await self.admission.acquire():
            self.metrics.http_shed.labels(self.metrics.service_name).inc()
            response = problem_response(busy(self.retry_after_seconds), Request(scope))
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.admission.release()
