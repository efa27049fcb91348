"""A service's stop says where its time went (runtime.StopClock)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from wijkkracht_common import runtime
from wijkkracht_common.runtime import StopClock


class Recorded:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.logged = asyncio.Event()

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})
        self.logged.set()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    logger = Recorded()
    monkeypatch.setattr(runtime, "log", logger)
    return logger


async def test_a_slow_phase_and_the_phase_a_cancelled_stop_was_in_are_logged(
    monkeypatch: pytest.MonkeyPatch, recorded: Recorded
) -> None:
    monkeypatch.setattr(runtime, "SLOW_STOPPING_PHASE_SECONDS", 0.0)
    phase = StopClock("svc")

    async def stop() -> None:
        with phase("relay"):
            await asyncio.sleep(0)
        with phase("broker"):
            await asyncio.Event().wait()  # never set: the lifespan's deadline cancels the stop

    stopping = asyncio.ensure_future(stop())
    await asyncio.wait_for(recorded.logged.wait(), timeout=30)
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert [(e["event"], e["phase"]) for e in recorded.lines] == [
        ("slow stopping phase", "relay"),
        ("stop cancelled", "broker"),
    ]
    cancelled = recorded.lines[1]
    assert cancelled["service"] == "svc"
    assert cancelled["seconds"] >= cancelled["phase_seconds"] >= 0


def test_a_quick_phase_is_not_logged(recorded: Recorded) -> None:
    with StopClock("svc")("jobs"):
        pass
    assert recorded.lines == []
