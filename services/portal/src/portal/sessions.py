"""Server-side sessions: the browser holds only an opaque id; tokens never leave the server.

In memory with an idle timeout and an absolute lifetime: enough for one replica. More replicas
(or surviving a restart) need a shared store with the same interface, e.g. Redis with key
expiry, or sticky sessions; tokens at rest there should be encrypted.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    #: monotonic-free wall clock (time.time()) when the access token expires
    expires_at: float


@dataclass
class User:
    person_id: str
    display_name: str
    tenant: str
    #: organisation slug -> roles there
    orgs: dict[str, list[str]]

    def roles(self) -> set[str]:
        return {role for roles in self.orgs.values() for role in roles}

    def orgs_with(self, *roles: str) -> list[str]:
        return sorted(org for org, have in self.orgs.items() if set(have) & set(roles))


@dataclass
class Session:
    id: str
    created_at: float
    last_seen: float
    csrf: str
    tokens: Tokens | None = None
    user: User | None = None
    #: the login under way: state, nonce and PKCE verifier, and where to go afterwards
    pending_login: dict[str, str] | None = None
    #: one-time messages shown on the next page ("Uw antwoorden zijn bewaard")
    flashes: list[str] = field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        return self.user is not None and self.tokens is not None


class SessionStore:
    def __init__(
        self,
        *,
        idle_seconds: int,
        max_seconds: int,
        clock: Callable[[], float] = time.time,
        limit: int = 100_000,
    ) -> None:
        self._sessions: dict[str, Session] = {}
        self.idle_seconds, self.max_seconds = idle_seconds, max_seconds
        self._clock = clock
        self._limit = limit

    def new(self) -> Session:
        self._sweep_if_full()
        now = self._clock()
        session = Session(
            id=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
            csrf=secrets.token_urlsafe(32),
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session (its idle clock restarted), or None once expired."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if self._expired(session, now):
            del self._sessions[session_id]
            return None
        session.last_seen = now
        return session

    def rotate(self, session: Session) -> Session:
        """A new id for the same session (after login: no session fixation)."""
        self._sessions.pop(session.id, None)
        session.id = secrets.token_urlsafe(32)
        session.csrf = secrets.token_urlsafe(32)
        self._sessions[session.id] = session
        return session

    def drop(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: Session, now: float) -> bool:
        return (
            now - session.last_seen > self.idle_seconds
            or now - session.created_at > self.max_seconds
        )

    def sweep(self) -> int:
        now = self._clock()
        expired = [sid for sid, s in self._sessions.items() if self._expired(s, now)]
        for sid in expired:
            del self._sessions[sid]
        return len(expired)

    def _sweep_if_full(self) -> None:
        if len(self._sessions) < self._limit:
            return
        self.sweep()
        while len(self._sessions) >= self._limit:  # still full: the least recently seen go
            oldest = min(self._sessions.values(), key=lambda s: s.last_seen)
            del self._sessions[oldest.id]
