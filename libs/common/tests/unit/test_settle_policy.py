"""The ack/nak/dead-letter decision, with a fake message and a fake JetStream."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel
from pymongo.errors import AutoReconnect
from wijkkracht_common import messaging
from wijkkracht_common.intake import ShuttingDown
from wijkkracht_common.messaging import PermanentError, backoff_delay, settle

pytestmark = pytest.mark.unit


@dataclass
class FakeMetadata:
    num_delivered: int


@dataclass
class FakeRaw:
    subject: str = "wk.demo.questionnaires.x.v1"
    data: bytes = b'{"a": 1}'
    headers: dict[str, str] = field(default_factory=dict)
    attempt: int = 1

    @property
    def metadata(self) -> FakeMetadata:
        return FakeMetadata(self.attempt)


@dataclass
class FakeMessage:
    raw_message: FakeRaw
    settled: list[tuple[str, Any]] = field(default_factory=list)

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nack(self, delay: float | None = None) -> None:
        self.settled.append(("nack", delay))

    async def reject(self) -> None:
        self.settled.append(("reject", None))


@dataclass
class FakeJs:
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def publish(self, subject: str, payload: bytes, **_: Any) -> None:
        self.published.append((subject, json.loads(payload)))


async def run(work: Any, attempt: int = 1) -> tuple[FakeMessage, FakeJs]:
    message, js = FakeMessage(FakeRaw(attempt=attempt)), FakeJs()
    await settle(message, js, durable="svc__x", max_deliver=5, work=work)  # type: ignore[arg-type]
    return message, js


async def test_success_acks() -> None:
    async def ok() -> str:
        return "applied"

    message, js = await run(ok)
    assert message.settled == [("ack", None)] and js.published == []


async def test_permanent_error_dead_letters_then_terminates() -> None:
    async def bad() -> str:
        raise PermanentError("unknown instrument")

    message, js = await run(bad)
    assert message.settled == [("reject", None)]
    subject, record = js.published[0]
    assert subject == "dlq.demo.svc__x"
    assert record["reason"] == "invalid" and "unknown instrument" in record["error"]
    assert record["data"] == '{"a": 1}' and record["original_subject"].startswith("wk.demo.")


async def test_validation_error_is_permanent() -> None:
    class M(BaseModel):
        n: int

    async def bad() -> str:
        M.model_validate({"n": "x"})
        return "applied"

    message, js = await run(bad)
    assert message.settled == [("reject", None)] and js.published[0][1]["reason"] == "invalid"


async def test_transient_error_naks_with_backoff_then_dead_letters_on_last_try() -> None:
    async def down() -> str:
        raise AutoReconnect("database down")

    message, js = await run(down, attempt=2)
    assert message.settled == [("nack", backoff_delay(2))] and js.published == []
    message, js = await run(down, attempt=5)
    assert message.settled == [("reject", None)]
    assert js.published[0][1]["reason"] == "transient_exhausted"


async def test_unexpected_error_is_retried_not_dropped() -> None:
    async def bug() -> str:
        raise RuntimeError("bug")

    message, js = await run(bug)
    assert message.settled[0][0] == "nack" and js.published == []


@dataclass
class LogLines:
    """Stands in for the module's logger: a configured structlog caches its loggers, so
    `structlog.testing.capture_logs` misses them once another test configured logging."""

    events: list[str] = field(default_factory=list)

    def _line(self, event: str, **_: Any) -> None:
        self.events.append(event)

    warning = error = exception = info = _line


async def test_an_event_refused_while_stopping_is_naked_without_a_line_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backlog refused at shutdown is hundreds of events: the runtime logs one summary."""
    logs = LogLines()
    monkeypatch.setattr(messaging, "log", logs)

    async def refused() -> str:
        raise ShuttingDown("the service is stopping")

    async def unavailable() -> str:
        raise AutoReconnect("database down")

    message, js = await run(refused)
    assert message.settled == [("nack", backoff_delay(1))] and js.published == []
    assert logs.events == []
    await run(unavailable)
    assert logs.events == ["event retried: transient error"]


def test_backoff_grows_and_caps() -> None:
    delays = [backoff_delay(n) for n in range(1, 12)]
    assert delays == sorted(delays) and delays[-1] == delays[-2]
