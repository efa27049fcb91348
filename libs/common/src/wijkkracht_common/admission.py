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
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from wijkkracht_common.errors import ServiceUnavailable, problem_response
from wijkkracht_common.observability import ServiceMetrics

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
    """Counts running requests and hands freed slots to waiters in arrival order."""

    def __init__(self, limit: int, max_waiting: int, wait_seconds: float) -> None:
        self.limit = limit
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> bool:
        """True when a slot is held (release it later); False when the request is shed."""
        if self.running < self.limit and not self._waiters:
            self.running += 1
            return True
        if len(self._waiters) >= self.max_waiting:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.wait_seconds)
        except TimeoutError:
            if waiter.done():  # the slot was handed over just as the wait ended: keep it
                return True
            waiter.cancel()
            self._remove(waiter)
            return False
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot, but the request is gone: pass it on
            else:
                waiter.cancel()
                self._remove(waiter)
            raise
        return True

    def release(self) -> None:
        """Hand the slot to the oldest waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves on: `running` stays the same
                return
        self.running -= 1

    def _remove(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):  # already handed over
            self._waiters.remove(waiter)

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
        if not await self.admission.acquire():
            self.metrics.http_shed.labels(self.metrics.service_name).inc()
            response = problem_response(busy(self.retry_after_seconds), Request(scope))
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.admission.release()
