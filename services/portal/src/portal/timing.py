"""Time per page, by route, as a pure ASGI middleware: Starlette's `@app.middleware("http")`
(BaseHTTPMiddleware) runs every request through an extra task and memory streams, which cost
the portal CPU on every page."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def page_histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "portal_page_seconds",
        "Time to answer a page, by route",
        ["route"],
        registry=registry,
        buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
    )


class PageTimer:
    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            # Until the first byte of the answer: what a user waits for (TTFB).
            if message["type"] == "http.response.start":
                route = scope.get("route")
                self.histogram.labels(getattr(route, "path", "other")).observe(
                    time.perf_counter() - started
                )
            await send(message)

        await self.app(scope, receive, timed_send)
