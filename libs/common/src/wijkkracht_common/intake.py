"""Whether consumed events may still begin their work: the gate a shutdown closes first.

Why: a subscriber fetches up to 64 messages and starts their handlers together. Where the
database runs one transaction per database at a time (the embedded engine), most of them wait
for their turn; at shutdown, waiting for all of them took longer than a lifespan may take on a
busy machine (the first app of a service in a test session meets the backlog other tests
left on the shared streams). Refused before they begin, they leave at once and come again.

`messaging.subscribe` runs every handler inside `applying(delivery, max_deliver)`, and
`ServiceRuntime.commit` asks `runtime.intake.admit()` before a transaction queues and again
when it begins. Once the runtime closes the intake (the first step of its shutdown), a
consumed event whose transaction has not begun is refused with `ShuttingDown`; the consumers'
settle policy naks it (a transient error), so it comes back to this instance after a restart
or goes to another one. An event on its last allowed delivery is applied anyway: refusing it
would dead-letter it. HTTP requests and jobs are never refused here: the work they began
finishes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from pymongo.errors import ConnectionFailure


class ShuttingDown(ConnectionFailure):
    """The service is stopping, so this consumed event was not applied; its message is nak'd
    and delivered again. A driver error by class (`storage.TRANSIENT_ERRORS`), so the settle
    policy naks it with one log line; any other error logs a traceback, and hundreds at once
    made the shutdown itself slow. Only consumed events' transactions raise it."""


@dataclass(frozen=True, slots=True)
class _Applying:
    durable: str
    subject: str
    attempt: int
    max_deliver: int | None


#: The consumed message the current task applies (None in HTTP requests and jobs).
_applying: ContextVar[_Applying | None] = ContextVar("wk_applying", default=None)


@contextmanager
def applying(
    durable: str, subject: str, attempt: int, max_deliver: int | None = None
) -> Iterator[None]:
    """Wraps a consumer's handler: the transactions it runs belong to this message."""
    token = _applying.set(_Applying(durable, subject, attempt, max_deliver))
    try:
        yield
    finally:
        _applying.reset(token)


class Intake:
    """One per process (`ServiceRuntime.intake`)."""

    def __init__(self) -> None:
        self._closed = False
        #: Consumed events refused since `close()` (logs, tests).
        self.refused = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    def admit(self) -> None:
        """Raises `ShuttingDown` when the intake is closed, the current task applies a
        consumed message, and that is not the message's last delivery; otherwise nothing."""
        message = _applying.get()
        if not self._closed or message is None:
            return
        last = message.max_deliver is not None and message.attempt >= message.max_deliver
        if last:
            return
        self.refused += 1
        raise ShuttingDown(
            f"the service is stopping: {message.durable} ({message.subject}) is delivered again"
        )


__all__ = ["Intake", "ShuttingDown", "applying"]
