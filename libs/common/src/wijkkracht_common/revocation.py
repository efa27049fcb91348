"""Revoked tokens, disabled persons and clients, refused by every service within seconds.

Services verify identity's tokens locally (JWKS), so by itself a token stays valid in every
service until it expires, whatever identity decided. Identity publishes `access_token_revoked`,
`person_disabled` and `client_disabled`; every replica of every service reads them (an
ephemeral ordered consumer per process, replaying the last `window` so a replica that starts
later knows what is still relevant) into its `Revocations`, which the token verifier consults
on every request, cached tokens included.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from pydantic import ValidationError

from wijkkracht_common.events.envelope import Envelope, EventData, parse_event
from wijkkracht_common.events.identity import AccessTokenRevoked, ClientDisabled, PersonDisabled
from wijkkracht_common.observability import get_logger

log = get_logger(__name__)


class Revocations:
    """What identity revoked, in memory; `refuses(...)` answers for one verified token."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tokens: dict[str, float] = {}  # jti -> exp (epoch seconds)
        self._persons: dict[tuple[str, str], float] = {}  # (tenant, person) -> disabled at
        self._clients: dict[tuple[str, str], float] = {}  # (tenant, client) -> disabled at

    def revoke_token(self, token_id: str, expires_at: float) -> None:
        self._tokens[token_id] = expires_at
        self._prune()

    def disable_person(self, tenant: str, person_id: str, at: float) -> None:
        key = (tenant, person_id)
        self._persons[key] = max(at, self._persons.get(key, at))

    def disable_client(self, tenant: str, client_id: str, at: float) -> None:
        key = (tenant, client_id)
        self._clients[key] = max(at, self._clients.get(key, at))

    def client_disabled_at(self, tenant: str, client_id: str) -> float | None:
        """When identity last announced the client disabled (epoch seconds), if it did."""
        return self._clients.get((tenant, client_id))

    def refuses(
        self,
        *,
        tenant: str,
        subject: str,
        client_id: str | None,
        token_id: str | None,
        issued_at: float | None,
    ) -> bool:
        if token_id is not None and token_id in self._tokens:
            return True
        issued = issued_at if issued_at is not None else 0.0
        disabled = self._persons.get((tenant, subject))
        if disabled is not None and issued <= disabled:
            return True
        if client_id is not None:
            stopped = self._clients.get((tenant, client_id))
            if stopped is not None and issued <= stopped:
                return True
        return False

    def _prune(self) -> None:
        now = self._clock()
        for token_id in [t for t, exp in self._tokens.items() if exp < now]:
            del self._tokens[token_id]

    def apply(self, envelope: Envelope[EventData]) -> None:
        at = envelope.time.timestamp()
        data = envelope.data
        if isinstance(data, AccessTokenRevoked):
            self.revoke_token(data.token_id, data.expires_at.timestamp())
        elif isinstance(data, PersonDisabled):
            self.disable_person(envelope.tenant, data.person_id, at)
        elif isinstance(data, ClientDisabled):
            self.disable_client(envelope.tenant, data.client_id, at)


_EVENTS: tuple[type[EventData], ...] = (AccessTokenRevoked, PersonDisabled, ClientDisabled)


class RevocationFeed:
    """Feeds one process's `Revocations` from identity's stream (ordered consumers: no state
    on the server, every replica reads everything)."""

    def __init__(self, revocations: Revocations, *, window_seconds: float) -> None:
        self.revocations = revocations
        self._window = window_seconds
        self._subscriptions: list[Subscription] = []

    async def start(self, js: JetStreamContext) -> None:
        since = datetime.now(UTC) - timedelta(seconds=self._window)
        for event_cls in _EVENTS:

            async def on_message(msg: Msg, cls: type[EventData] = event_cls) -> None:
                try:
                    self.revocations.apply(parse_event(cls, msg.data))
                except (ValidationError, ValueError) as error:
                    log.warning("revocation event ignored", subject=msg.subject, error=str(error))

            subscription = await js.subscribe(
                event_cls.subject_filter(),
                cb=on_message,
                ordered_consumer=True,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_TIME,
                    opt_start_time=since,
                ),
            )
            self._subscriptions.append(subscription)

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):  # the connection may be closing already
                await subscription.unsubscribe()
        self._subscriptions.clear()
