"""Whether consumed events may still begin their work: the gate a shutdown closes first.

Once `close()` is called, a consumed event whose handler has not begun its transaction is
refused with `ShuttingDown` (adapters/unit_of_work.py). `messaging.settle` then naks its
message, so it comes back to this instance after a restart or goes to another instance. An
event on its last allowed delivery is applied anyway, because refusing it would dead-letter
it. HTTP requests are never refused here: the work they began finishes.
entrypoints/shutdown.py says when the gate closes and why.

The unit of work asks `admit()` at the start of every transaction, and a consumer's handler
runs inside `applying(delivery)`, which tells `admit()` which message the task applies. The
consent projection is libs/common's own handler, which does not say which message it
applies: its commits ask `admit_consumed()`, which refuses them once the intake is closed,
on any delivery.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from wijkkracht_common.messaging import Delivery

from questionnaires.adapters.unit_of_work import ShuttingDown

#: The consumed message the current task applies (None in HTTP requests and jobs).
_applying: ContextVar[Delivery | None] = ContextVar("questionnaires_applying", default=None)


class Intake:
    """`max_deliver`: the consumers' limit of deliveries. A message on its last delivery is
    admitted even after `close()`. With None, every message is refused after `close()`."""

    def __init__(self, *, max_deliver: int | None = None) -> None:
        self._max_deliver = max_deliver
        self._closed = False
        #: Consumed events refused since `close()` (logs, tests).
        self.refused = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    @contextmanager
    def applying(self, delivery: Delivery) -> Iterator[None]:
        """Wraps a consumer's handler. `admit` then knows that the handler's transactions
        belong to this message. A closed intake refuses the message at once."""
        token = _applying.set(delivery)
        try:
            self.admit()
            yield
        finally:
            _applying.reset(token)

    def admit(self) -> None:
        """Raises `ShuttingDown` when a consumed event may no longer begin work: the intake is
        closed, the current task applies a message, and that is not the message's last
        delivery. Otherwise (an HTTP request, a job) it does nothing."""
        delivery = _applying.get()
        if delivery is not None:
            self._admit_message(delivery)

    def admit_consumed(self) -> None:
        """`admit` for commits that only consumed events make. If the task does not say which
        message it applies, the commit is refused once the intake is closed."""
        delivery = _applying.get()
        if delivery is not None:
            self._admit_message(delivery)
        elif self._closed:
            self._refuse("a consumed event")

    def _admit_message(self, delivery: Delivery) -> None:
        last = self._max_deliver is not None and delivery.attempt >= self._max_deliver
        if self._closed and not last:
            self._refuse(f"{delivery.durable} ({delivery.subject})")

    def _refuse(self, what: str) -> None:
        self.refused += 1
        raise ShuttingDown(f"the service is stopping: {what} is delivered again")


__all__ = ["Intake", "ShuttingDown"]
