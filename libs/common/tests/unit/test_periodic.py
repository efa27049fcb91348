from __future__ import annotations

import asyncio

import pytest
from pymongo.errors import AutoReconnect
from wijkkracht_common.periodic import PeriodicTask

pytestmark = pytest.mark.unit


async def test_runs_periodically_survives_failures_and_wakes_on_trigger() -> None:
    calls: list[int] = []

    async def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise AutoReconnect("database away")
        if len(calls) == 2:
            raise RuntimeError("bug in one pass")

    job = PeriodicTask("test-job", work, interval_seconds=0.01)
    job.start()
    for _ in range(200):
        if len(calls) >= 4:
            break
        await asyncio.sleep(0.01)
    assert len(calls) >= 4 and job.failures == 2 and job.running
    await job.stop()
    assert not job.running
    stopped_at = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == stopped_at  # really stopped


async def test_trigger_runs_the_next_pass_now() -> None:
    seen = asyncio.Event()
    calls: list[int] = []

    async def work() -> None:
        calls.append(1)
        if len(calls) == 2:
            seen.set()

    job = PeriodicTask("slow-job", work, interval_seconds=3600)
    job.start()
    await asyncio.sleep(0.02)
    job.trigger()
    await asyncio.wait_for(seen.wait(), timeout=2)  # not an hour later
    await job.stop()


def test_interval_must_be_positive() -> None:
    async def work() -> None:
        return None

    with pytest.raises(ValueError):
        PeriodicTask("x", work, 0)
