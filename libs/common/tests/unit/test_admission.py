"""Back-pressure: at most N requests run at once, a short FIFO waits for a slot, the rest are
answered 503 `service-busy` with `Retry-After` at once; probes are always answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from wijkkracht_common.admission import Admission
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.observability import ServiceMetrics
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.unit


@asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


class Gate:
    """Requests to /t/slow wait here until the test opens it."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.inside = 0


def build_app(
    gate: Gate, *, limit: int, waiting: int, wait_ms: int
) -> tuple[FastAPI, ServiceMetrics]:
    settings = BaseServiceSettings(
        service_name="admission",
        max_concurrent_requests=limit,
        admission_max_waiting=waiting,
        admission_wait_ms=wait_ms,
        busy_retry_after_seconds=2,
    )
    metrics = ServiceMetrics("admission")
    app = create_base_app(
        settings, title="t", prefix="/t", metrics=metrics, readiness={}, lifespan=no_lifespan
    )
    router = APIRouter()

    @router.get("/slow")
    async def slow() -> dict[str, bool]:
        gate.inside += 1
        await gate.open.wait()
        return {"ok": True}

    app.include_router(router, prefix="/t")
    return app, metrics


async def until(predicate: Callable[[], bool]) -> None:
    async def check() -> bool:
        return predicate()

    await eventually(check)


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_full_queue_sheds_at_once_and_the_waiting_request_gets_the_freed_slot() -> None:
    gate = Gate()
    app, metrics = build_app(gate, limit=2, waiting=1, wait_ms=60_000)
    async with client(app) as http:
        running = [asyncio.create_task(http.get("/t/slow")) for _ in range(2)]
        await until(lambda: gate.inside == 2)
        queued = asyncio.create_task(http.get("/t/slow"))
        await until(lambda: _waiting(app) == 1)

        shed = await http.get("/t/slow")  # the queue is full: answered without waiting
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "2"
        assert shed.headers["content-type"] == "application/problem+json"
        assert shed.json()["type"].endswith(":service-busy")
        assert "druk" in shed.json()["detail"]

        probe = await http.get("/healthz")  # probes are never shed
        assert probe.status_code == 200

        gate.open.set()
        answers = await asyncio.gather(*running, queued)
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert gate.inside == 3
    shed_count = metrics.http_shed.labels("admission")._value.get()
    assert shed_count == 1
    assert _admission(app).running == 0


async def test_a_request_that_waits_longer_than_the_bound_is_shed() -> None:
    gate = Gate()
    app, _ = build_app(gate, limit=1, waiting=10, wait_ms=20)
    async with client(app) as http:
        first = asyncio.create_task(http.get("/t/slow"))
        await until(lambda: gate.inside == 1)
        second = await http.get("/t/slow")  # nothing frees the slot within 20 ms
        assert second.status_code == 503
        assert _waiting(app) == 0  # the shed request left the queue
        gate.open.set()
        assert (await first).status_code == 200
        again = await http.get("/t/slow")  # capacity is back
        assert again.status_code == 200


async def test_no_limit_when_turned_off() -> None:
    gate = Gate()
    gate.open.set()
    app, _ = build_app(gate, limit=0, waiting=0, wait_ms=0)
    async with client(app) as http:
        answers = await asyncio.gather(*(http.get("/t/slow") for _ in range(50)))
    assert {a.status_code for a in answers} == {200}


async def test_slots_are_handed_over_in_arrival_order() -> None:
    admission = Admission(limit=1, max_waiting=5, wait_seconds=60)
    assert await admission.acquire()
    order: list[int] = []

    async def waiter(n: int) -> None:
        assert await admission.acquire()
        order.append(n)
        admission.release()

    tasks = []
    for n in range(3):
        tasks.append(asyncio.create_task(waiter(n)))
        await until(lambda n=n: admission.waiting == n + 1)  # type: ignore[misc]
    admission.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert admission.running == 0


async def test_a_waiter_cancelled_after_being_handed_a_slot_passes_it_on() -> None:
    admission = Admission(limit=1, max_waiting=5, wait_seconds=60)
    assert await admission.acquire()
    first = asyncio.create_task(admission.acquire())
    await until(lambda: admission.waiting == 1)
    second = asyncio.create_task(admission.acquire())
    await until(lambda: admission.waiting == 2)
    first.cancel()
    admission.release()
    assert await second  # the slot did not get lost with the cancelled waiter
    assert admission.running == 1
    admission.release()
    assert admission.running == 0


def _admission(app: FastAPI) -> Admission:
    stack = app.middleware_stack
    if stack is None:
        raise AssertionError("the app has not served a request yet")
    layer = stack
    while not hasattr(layer, "admission"):
        layer = layer.app  # type: ignore[attr-defined]
    found: Admission = layer.admission
    return found


def _waiting(app: FastAPI) -> int:
    return _admission(app).waiting


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_queue_that_stays_full_sheds_after_a_short_wait_until_it_empties_again() -> None:
    """CoDel: a burst may wait the full bound; a queue that has not emptied for the interval
    means overload, and then a request waits only briefly before it is shed. Once the queue
    stayed empty for the interval, the full wait is back."""
    clock = FakeClock()
    admission = Admission(
        limit=1,
        max_waiting=10,
        wait_seconds=60,
        overloaded_wait_seconds=0.01,
        interval_seconds=1,
        clock=clock,
    )
    assert await admission.acquire()  # the one slot is busy
    patient = asyncio.create_task(admission.acquire())
    await until(lambda: admission.waiting == 1)
    assert not admission.overloaded  # a burst: it may wait up to 60 s

    clock.now = 2.0  # the queue has not emptied for longer than the interval
    shed = await asyncio.wait_for(admission.acquire(), timeout=10)
    assert shed is False, "shed after the short wait, not 60 s"
    assert admission.overloaded
    assert admission.waiting == 1

    admission.release()  # the patient waiter gets the slot; the queue is empty at t=2
    assert await patient
    assert admission.overloaded, "still overloaded: the queue was not empty long enough"

    clock.now = 4.0  # empty for longer than the interval
    admission.release()
    assert await admission.acquire()
    waiting = asyncio.create_task(admission.acquire())
    await until(lambda: admission.waiting == 1)
    await asyncio.sleep(0.05)  # longer than the overloaded wait
    assert not waiting.done() and not admission.overloaded
    admission.release()
    assert await waiting
    admission.release()
    assert admission.running == 0


async def test_a_shed_request_passes_no_middleware_and_an_admitted_ones_wait_counts() -> None:
    """Admission wraps the whole stack: a shed request costs no middleware, log line or span
    (it is counted in wk_http_shed_total only), while an admitted request's latency counts from
    its arrival, its wait in the queue included."""
    gate = Gate()
    app, metrics = build_app(gate, limit=1, waiting=1, wait_ms=60_000)
    async with client(app) as http:
        first = asyncio.create_task(http.get("/t/slow"))
        await until(lambda: gate.inside == 1)
        queued = asyncio.create_task(http.get("/t/slow"))
        await until(lambda: _waiting(app) == 1)
        assert (await http.get("/t/slow")).status_code == 503
        await asyncio.sleep(0.3)  # the queued request waits this long for its slot
        gate.open.set()
        assert [(await first).status_code, (await queued).status_code] == [200, 200]
    sample = metrics.registry.get_sample_value
    route = {"service": "admission", "method": "GET", "route": "/slow"}
    assert sample("wk_http_requests_total", {**route, "status": "200"}) == 2
    counted = [
        s.labels
        for m in metrics.registry.collect()
        for s in m.samples
        if s.name == "wk_http_requests_total"
    ]
    assert counted == [{**route, "status": "200"}], "the shed request went through no middleware"
    assert sample("wk_http_shed_total", {"service": "admission"}) == 1
    latency_sum = sample("wk_http_request_duration_seconds_sum", route)
    assert latency_sum is not None and latency_sum >= 0.6, "both waited >= 0.3 s"
