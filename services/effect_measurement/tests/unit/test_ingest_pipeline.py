"""Ingestion's pipelined plans (`service/ingest.py`) on in-memory fakes: a batch planned while
earlier ones are still unwritten takes the histories of their persons from their plans, never
from the database (which does not hold them yet)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from effect_measurement.service import ingest
from em_fakes import FakeDb, FakeRepositories, FakeRuntime, TenantState
from test_use_cases import TENANT, expected_cells, response

DURABLE = "effect_measurement__test"


class Gate:
    """Holds a batch's transaction between choosing its plan and writing it."""

    def __init__(self) -> None:
        self.hold = False
        self.writing = asyncio.Event()
        self.release = asyncio.Event()


class GatedRepositories(FakeRepositories):
    def __init__(self, state: TenantState, tenant: str, gate: Gate) -> None:
        super().__init__(state, tenant)
        self.gate = gate

    async def write_ingestion(self, writes: Any, partition: str | None = None) -> int:
        if self.gate.hold:
            self.gate.hold = False
            self.gate.writing.set()
            await self.gate.release.wait()
        return await super().write_ingestion(writes, partition)


async def test_a_plan_two_batches_ahead_takes_histories_from_the_batch_being_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch consumer prepares the next batches while one is written: batch D can be
    planned on top of C (prepared) while B is still being written. A person of B and D but not
    of C must get B's measurement from B's plan; read from the database before B's writes, D
    folded the person's second follow-up against a history without the first (the replicas
    test's one-process run: cells off, `change_sum_centi` and transitions)."""
    runtime = FakeRuntime()
    gate = Gate()

    def repositories(db: Any, session: Any, tenant: str) -> GatedRepositories:
        return GatedRepositories(runtime.store.tenant(tenant), tenant, gate)

    planned_in_transaction = 0
    make_plan = ingest.make_plan

    async def counting(db: Any, session: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal planned_in_transaction
        planned_in_transaction += session is not None
        return await make_plan(db, session, *args, **kwargs)

    monkeypatch.setattr(ingest, "make_plan", counting)
    ingestion = ingest.ResponseIngestion(runtime, repositories=repositories)
    state = runtime.store.tenant(TENANT)
    db = FakeDb(TENANT, state)
    jan, apr, jul = (datetime(2026, month, 12, tzinfo=UTC) for month in (1, 4, 7))

    baselines = [response(person, {"finances": 2}, jan) for person in ("p", "q")]  # A
    assert await ingestion(db, baselines, DURABLE) == {}
    gate.hold = True
    second = [response("p", {"finances": 3}, apr)]  # B: p's first follow-up
    writing = asyncio.create_task(ingestion(db, second, DURABLE))
    await gate.writing.wait()  # B's transaction chose its plan; nothing of it is written
    third = [response("q", {"finances": 4}, apr)]  # C: another person
    fourth = [response("p", {"finances": 5}, jul)]  # D: p's second follow-up
    await ingestion.prepare(db, third)  # on top of B's plan
    await ingestion.prepare(db, fourth)  # on top of C's plan, B still unwritten
    gate.release.set()
    assert await writing == {}
    assert await ingestion(db, third, DURABLE) == {}
    assert await ingestion(db, fourth, DURABLE) == {}

    assert planned_in_transaction == 2  # the first two batches; C and D as prepared
    assert len(state.measurements) == 5
    assert state.cells == expected_cells(state)
    assert sorted(s.sequence for s in state.measurements.values()) == [0, 0, 1, 1, 2]
