"""CORS allow-list per API client: an origin registered by any client may call the API.

The list lives in the platform database (origins are not tenant secrets) and is cached
briefly, so a newly registered front end works within seconds without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from identity.service.context import Identity

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"


class OriginAllowList:
    TTL_SECONDS = 10.0

    def __init__(self, ctx: Identity) -> None:
        self._ctx = ctx
        self._origins: set[str] = set()
        self._loaded = 0.0

    async def allows(self, origin: str) -> bool:
        if time.monotonic() - self._loaded > self.TTL_SECONDS:
            self._origins = await (await self._ctx.platform()).origins.all()
            self._loaded = time.monotonic()
        return origin in self._origins


def install_cors(app: FastAPI, ctx: Identity) -> None:
    allow_list = OriginAllowList(ctx)

    @app.middleware("http")
    async def cors(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        origin = request.headers.get("origin")
        if origin is None:
            return await call_next(request)
        allowed = await allow_list.allows(origin)
        preflight = (
            request.method == "OPTIONS" and "access-control-request-method" in request.headers
        )
        if preflight:
            response = Response(status_code=204 if allowed else 403)
        else:
            response = await call_next(request)
        response.headers.append("Vary", "Origin")
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            if preflight:
                response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
                response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
        return response
