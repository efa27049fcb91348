"""Calls to the services' public HTTP APIs with the signed-in person's access token.

The time spent waiting for the APIs is added up per request (`Server-Timing: api;dur=…`), so
the bench can report the portal's own time and the services' time separately.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from portal.oidc import OidcClient
from portal.sessions import Session
from portal.settings import Settings

Service = Literal[
    "identity", "questionnaires", "learning_paths", "marketplace", "social_map", "effects"
]

#: seconds spent in API calls during the current request: a mutable cell, so calls made in
#: tasks of `asyncio.gather` (which copy the context) add to the request's own total
api_seconds: ContextVar[list[float]] = ContextVar("api_seconds")
#: refresh the access token this long before it expires
REFRESH_MARGIN_SECONDS = 30.0


class SignInRequired(Exception):
    """No valid tokens (never signed in, or the session's refresh was refused)."""


@dataclass
class ApiError(Exception):
    status: int
    problem: dict[str, Any]

    def detail(self, lang: str) -> str:
        """The problem's own text in the reader's language ("NL / EN" by convention)."""
        text = str(self.problem.get("detail") or self.problem.get("title") or "")
        if " / " in text:
            nl, _, en = text.partition(" / ")
            return en if lang == "en" else nl
        return text


class Api:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, oidc: OidcClient) -> None:
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
    ) -> httpx.Response:
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
            raise ApiError(answer.status_code, problem if isinstance(problem, dict) else {})
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    async def get(self, session: Session, service: Service, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return await self.json(session, "GET", service, path, params=clean or None)
