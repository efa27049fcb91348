"""Calls to the services' public HTTP APIs with the signed-in person's access token.

The time spent waiting for the APIs is added up per request (`Server-Timing: api;dur=…`), so
the bench can report the portal's own time and the services' time separately.
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
from wijkkracht_common.observability import get_logger

from portal.oidc import OidcClient
from portal.sessions import Session
from portal.settings import Settings

Service = Literal[
    "identity", "questionnaires", "learning_paths", "marketplace", "social_map", "effects"
]

log = get_logger(__name__)
#: seconds spent in API calls during the current request: a mutable cell, so calls made in
#: tasks of `asyncio.gather` (which copy the context) add to the request's own total
api_seconds: ContextVar[list[float]] = ContextVar("api_seconds")
#: refresh the access token this long before it expires
REFRESH_MARGIN_SECONDS = 30.0
#: Lists with no personal data that are the same for everyone with the same tenant and roles
#: (the services decide visibility by those alone): kept this many seconds, so pages do not
#: ask the services for them again and again.
SHARED_LISTS: dict[tuple[str, str], float] = {
    ("questionnaires", "/instruments"): 60.0,
    ("identity", "/organisations"): 60.0,
    ("marketplace", "/categories"): 300.0,
}
SHARED_CACHE_LIMIT = 2_000


def log_shared_failure(service: str, path: str) -> None:
    log.info("shared list failed for another request; asking again", service=service, path=path)


class SignInRequired(Exception):
    """No valid tokens (never signed in, or the session's refresh was refused)."""


@dataclass
class ApiError(Exception):
    status: int
    problem: dict[str, Any]
    #: the service's `Retry-After` (a busy or unavailable service says when to come back)
    retry_after: str | None = None

    def detail(self, lang: str) -> str:
        """The problem's own text in the reader's language ("NL / EN" by convention)."""
        text = str(self.problem.get("detail") or self.problem.get("title") or "")
        if " / " in text:
            nl, _, en = text.partition(" / ")
            return en if lang == "en" else nl
        return text


class Api:
    def __init__(self, settings: Settings, http: httpx2.AsyncClient, oidc: OidcClient) -> None:
        self.http = http
        self.oidc = oidc
        self.base: dict[str, str] = {
            "identity": settings.identity_url,
            "questionnaires": settings.questionnaires_url,
            "learning_paths": settings.learning_paths_url,
            "marketplace": settings.marketplace_url,
            "social_map": settings.social_map_url,
            "effects": settings.effects_url,
        }
        self._shared: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._loading: dict[tuple[Any, ...], asyncio.Future[Any]] = {}

    async def _token(self, session: Session, *, force_refresh: bool = False) -> str:
        tokens = session.tokens
        if tokens is None:
            raise SignInRequired
        if force_refresh or tokens.expires_at - time.time() < REFRESH_MARGIN_SECONDS:
            renewed = await self.oidc.refresh(tokens)
            if renewed is None:
                session.tokens, session.user = None, None
                raise SignInRequired
            session.tokens = tokens = renewed
        return tokens.access_token

    async def request(
        self,
        session: Session,
        method: str,
        service: Service,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx2.Response:
        """The raw answer; 401 once -> refresh and retry; still 401 -> SignInRequired."""
        url = self.base[service] + path
        for attempt in (0, 1):
            token = await self._token(session, force_refresh=attempt == 1)
            started = time.perf_counter()
            try:
                answer = await self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={"Authorization": f"Bearer {token}", **(headers or {})},
                )
            finally:
                cell = api_seconds.get(None)
                if cell is not None:
                    cell[0] += time.perf_counter() - started
            if answer.status_code != 401:
                return answer
        session.tokens, session.user = None, None
        raise SignInRequired

    async def json(
        self,
        session: Session,
        method: str,
        service: Service,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The JSON body of a 2xx answer (None for 204); any other status raises ApiError."""
        answer = await self.request(
            session, method, service, path, params=params, json=json, headers=headers
        )
        if answer.status_code >= 400:
            try:
                problem = answer.json()
            except ValueError:
                problem = {"title": answer.text[:200]}
            raise ApiError(
                answer.status_code,
                problem if isinstance(problem, dict) else {},
                answer.headers.get("retry-after"),
            )
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    async def get(self, session: Session, service: Service, path: str, **params: Any) -> Any:
        """The JSON of a GET. Lists in SHARED_LISTS come from a short cache shared by people
        with the same tenant and roles (callers must not change what they get)."""
        clean = {k: v for k, v in params.items() if v is not None}
        ttl = SHARED_LISTS.get((service, path))
        user = session.user
        if ttl is None or user is None:
            return await self.json(session, "GET", service, path, params=clean or None)
        key = (
            service,
            path,
            tuple(sorted((k, str(v)) for k, v in clean.items())),
            user.tenant,
            tuple(sorted((org, tuple(sorted(roles))) for org, roles in user.orgs.items())),
        )
        cached = self._shared.get(key)
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        loading = self._loading.get(key)
        if loading is not None:  # someone asks for it already: share that answer
            try:
                return await asyncio.shield(loading)
            except asyncio.CancelledError:
                if not loading.cancelled():
                    raise  # this request was cancelled, not the shared one
            except (ApiError, SignInRequired, httpx2.HTTPError):
                log_shared_failure(service, path)  # the first asker's call (its own session,
                # say): this request asks with its own token
            return await self.json(session, "GET", service, path, params=clean or None)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await self.json(session, "GET", service, path, params=clean or None)
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved: no warning when nobody else waited
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        if len(self._shared) >= SHARED_CACHE_LIMIT:
            self._shared.clear()
        self._shared[key] = (time.monotonic(), value)
        return value
