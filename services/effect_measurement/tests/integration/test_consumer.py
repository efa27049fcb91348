"""Duplicates are applied once; invalid events go to the DLQ while later events still apply;
erasure keeps the aggregate projection equal to the sum over the remaining people."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Harness, event, read_subject, response, wait_for
from effect_measurement.adapters.documents import cell_from_document, stored_from_document
from effect_measurement.domain.accumulator import apply_deltas
from effect_measurement.domain.aggregates import person_cells
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.events.questionnaires import InstrumentPublished

pytestmark = pytest.mark.integration
DURABLE = "effect_measurement__questionnaires_response_submitted_v1"


async def test_duplicates_once_invalid_to_dlq(harness: Harness, two_tenants) -> None:  # type: ignore[no-untyped-def]
    tenant = two_tenants.a
    first = response(tenant, "p-dup", levels={"finances": 2})
    subject = first.nats_subject
    body = first.model_dump_json().encode()
    await harness.js.publish(subject, body, headers={"Nats-Msg-Id": "m1-" + first.id})
    await harness.js.publish(subject, body, headers={"Nats-Msg-Id": "m2-" + first.id})
    # Same response under a new event id (a producer retry): no second measurement either.
    again = first.model_copy(update={"id": str(uuid.uuid4())})
    await harness.publish(again)
    await harness.js.publish(subject, b"{not json")
    unknown = response(tenant, "p-x", family="no-such-instrument", levels={"finances": 2})
    await harness.publish(unknown)
    bad_dimension = response(tenant, "p-y", levels={"not_a_domain": 2})
    await harness.publish(bad_dimension)
    other_tenant = response(two_tenants.b, "p-z", levels={"finances": 2})
    await harness.js.publish(subject, other_tenant.model_dump_json().encode())
    out_of_range = response(tenant, "p-r", levels={"finances": 3})
    raw = out_of_range.model_dump(mode="json")
    raw["data"]["levels"] = {"finances": 9}
    import json

    await harness.js.publish(subject, json.dumps(raw).encode(), headers={"Nats-Msg-Id": "oor"})
    later = response(tenant, "p-later", levels={"finances": 4})
    await harness.publish(later)

    db = await harness.db(tenant)

    async def later_recorded() -> bool:
        if not await db.measurements.find_one({"_id": later.data.response_id}):
            return False
        recorded = await read_subject(
            harness.js, f"wk.{tenant}.effect_measurement.measurement_recorded.v1"
        )
        return any(r["data"]["response_id"] == later.data.response_id for r in recorded)

    # nx-27017 shows uncommitted writes: wait for the batch's last write (outbox), not the first
    await wait_for(later_recorded)
    assert await db.measurements.count_documents({"person_id": "p-dup"}) == 1
    assert await db.measurements.count_documents({}) == 2
    period = datetime.now(UTC).strftime("%Y")
    year_all = await db.cells.find({"dimension": "_all", "period": period}).to_list(None)
    assert sum(c["measured"] for c in year_all) == 2  # each person once

    async def dead() -> list[dict[str, object]] | None:
        # Partitioned by person: each partition's durable dead-letters under its own name.
        records = [
            r
            for r in await read_subject(harness.js, f"dlq.{tenant}.*", "DLQ")
            if r["consumer"].startswith(f"{DURABLE}__p")
        ]
        return records if len(records) >= 5 else None

    records = await wait_for(dead)
    errors = " ".join(str(r["error"]) for r in records)
    assert {r["reason"] for r in records} == {"invalid"}
    assert "no-such-instrument" in errors and "not_a_domain" in errors
    assert "differs from subject tenant" in errors
    assert any(r["data"] == "{not json" for r in records)
    assert await (await harness.db(two_tenants.b)).measurements.count_documents({}) == 0


async def test_erasure_keeps_aggregates_consistent(harness: Harness, two_tenants) -> None:  # type: ignore[no-untyped-def]
    tenant = two_tenants.a
    jan, apr = datetime(2026, 1, 12, tzinfo=UTC), datetime(2026, 4, 14, tzinfo=UTC)
    people = [f"p{i}" for i in range(6)]
    for i, person in enumerate(people):
        await harness.publish(
            response(tenant, person, levels={"finances": 2, "housing": 3}, at=jan)
        )
        await harness.publish(response(tenant, person, levels={"finances": 2 + i % 3}, at=apr))
    db = await harness.db(tenant)
    await wait_for(lambda: _count(db, 12))
    erase = event(PersonErasureRequested(person_id="p2"), tenant, "p2")
    await harness.publish(erase)
    await wait_for(lambda: _count(db, 10))

    async def erased() -> list[dict[str, object]] | None:
        found = [
            e
            for e in await read_subject(
                harness.js, f"wk.{tenant}.effect_measurement.person_data_erased.v1"
            )
            if e["data"]["person_id"] == "p2"
        ]
        return found or None

    confirmation = (await wait_for(erased))[0]
    assert confirmation["data"]["erased"]["measurements"] == 2
    # The projection equals the domain's sum over the remaining people, exactly.
    await assert_projection_exact(db, tenant)


async def assert_projection_exact(db, tenant: str) -> None:  # type: ignore[no-untyped-def]
    """The cell projection equals the domain's sum over the stored people, exactly."""
    by_person: dict[str, list[object]] = {}
    async for doc in db.measurements.find({}):
        by_person.setdefault(doc["person_id"], []).append(stored_from_document(doc))
    expected: dict[object, object] = {}
    for stored in by_person.values():
        expected = apply_deltas(expected, person_cells(tenant, stored))  # type: ignore[arg-type]
    actual = {}
    async for doc in db.cells.find({}):
        key, value = cell_from_document(tenant, doc)  # type: ignore[misc]
        if not value.is_zero():
            actual[key] = value
    assert actual == expected


async def _count(db, n: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await db.measurements.count_documents({}) == n)


async def test_cached_histories_stay_exact_across_other_writers(  # type: ignore[no-untyped-def]
    harness: Harness, two_tenants
) -> None:
    """Ingestion keeps histories in memory between batches (validated by the person-data
    epoch): another writer of measurements (a replica's ingestion, erasure) in between must
    not make a later fold use a stale history."""
    from effect_measurement.adapters.repositories import MotorRepositories
    from effect_measurement.service.erasure import erase_person_data
    from effect_measurement.service.ingest import ResponseIngestion

    tenant = two_tenants.a
    runtime = harness.app.state.runtime
    db = await harness.db(tenant)
    ours, replica = ResponseIngestion(runtime), ResponseIngestion(runtime)
    jan, feb, mar = (datetime(2026, m, 10, tzinfo=UTC) for m in (1, 2, 3))
    people = [f"c{i}" for i in range(5)]

    async def ingest(by: ResponseIngestion, at: datetime, levels: int, who: list[str]) -> None:
        batch = [response(tenant, p, levels={"finances": levels, "housing": 3}, at=at) for p in who]
        assert await by(db, batch, "test") == {}

    await ingest(ours, jan, 2, people)  # baselines: now cached by `ours`
    await ingest(replica, feb, 3, people[:3])  # a replica's follow-ups `ours` has not seen
    await ingest(ours, mar, 4, people)  # must fold against the replica's follow-ups too

    async def erase(db, session):  # type: ignore[no-untyped-def]
        return await erase_person_data(MotorRepositories(db, session, tenant), tenant, "c1")

    await runtime.commit(tenant, erase)
    await ingest(ours, datetime(2026, 4, 10, tzinfo=UTC), 5, ["c1", "c2"])

    # Issue 10: a response about an erased person (in flight) is dropped, not a new start.
    assert await db.measurements.count_documents({"person_id": "c1"}) == 0
    await assert_projection_exact(db, tenant)
    assert ours._caches[tenant].epoch is not None  # the cache was in use, not bypassed


async def test_prepared_plans_are_used_and_voided_when_another_writer_came_between(  # type: ignore[no-untyped-def]
    harness: Harness, two_tenants, monkeypatch
) -> None:
    """The pipeline: a batch planned while the previous one is written is used as planned,
    unless something else wrote measurements meanwhile; the projection stays exact."""
    from effect_measurement.service import ingest

    tenant = two_tenants.a
    runtime = harness.app.state.runtime
    db = await harness.db(tenant)
    ours, replica = ingest.ResponseIngestion(runtime), ingest.ResponseIngestion(runtime)
    planned_in_transaction = 0
    make_plan = ingest.make_plan

    async def counting(db, session, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal planned_in_transaction
        planned_in_transaction += session is not None
        return await make_plan(db, session, *args, **kwargs)

    monkeypatch.setattr(ingest, "make_plan", counting)
    people = [f"q{i}" for i in range(5)]

    def batch(month: int, levels: int, who: list[str]) -> list[Any]:
        at = datetime(2026, month, 10, tzinfo=UTC)
        return [response(tenant, p, levels={"finances": levels, "housing": 2}, at=at) for p in who]

    first = batch(1, 2, people)
    assert await ours(db, first, "test") == {}
    assert planned_in_transaction == 1  # nothing to build on yet

    second = batch(2, 3, people[:3])
    await ours.prepare(db, second)  # planned on top of `first`
    assert await ours(db, second, "test") == {}
    assert planned_in_transaction == 1  # used as planned

    third = batch(3, 4, people)
    await ours.prepare(db, third)
    assert await replica(db, batch(3, 1, people[3:]), "test") == {}  # another writer
    assert planned_in_transaction == 2  # the replica's own plan
    assert await ours(db, third, "test") == {}
    assert planned_in_transaction == 3  # the prepared plan was void: planned again

    await assert_projection_exact(db, tenant)


async def test_a_small_cache_never_keeps_part_of_a_history(harness: Harness, two_tenants) -> None:  # type: ignore[no-untyped-def]
    """A person planned from the previous plan (not from the cache) and evicted meanwhile
    comes back into the cache with the whole history, not only the new measurement."""
    from effect_measurement.service.ingest import ResponseIngestion

    tenant = two_tenants.a
    db = await harness.db(tenant)
    ours = ResponseIngestion(harness.app.state.runtime, history_cache_persons=1)

    def batch(month: int, levels: int, who: list[str]) -> list[Any]:
        # One day apart, in this order: the last person written is the one the cache keeps.
        return [
            response(
                tenant,
                p,
                levels={"finances": levels},
                at=datetime(2026, month, 10 + day, tzinfo=UTC),
            )
            for day, p in enumerate(who)
        ]

    assert await ours(db, batch(1, 2, ["s1", "s2"]), "test") == {}
    second = batch(2, 3, ["s3", "s1"])
    await ours.prepare(db, second)  # s1's history comes from the first plan
    assert await ours(db, second, "test") == {}
    third = batch(3, 4, ["s1"])  # planned in its transaction, from the cache where it holds
    assert await ours(db, third, "test") == {}
    fourth = batch(4, 5, ["s1", "s2"])
    assert await ours(db, fourth, "test") == {}

    await assert_projection_exact(db, tenant)


async def test_an_intervention_recorded_between_plan_and_commit_voids_the_plan(  # type: ignore[no-untyped-def]
    harness: Harness, two_tenants
) -> None:
    """Persona cells depend on interventions too: one recorded after the next batch was
    planned must not leave the persona projection off its sum over stored data."""
    from effect_measurement.adapters.documents import persona_from_document
    from effect_measurement.adapters.repositories import MotorRepositories
    from effect_measurement.domain.inputs import InterventionInput
    from effect_measurement.domain.persona import persona_cells
    from effect_measurement.service.ingest import ResponseIngestion
    from effect_measurement.service.interventions import record_intervention

    tenant = two_tenants.a
    runtime = harness.app.state.runtime
    db = await harness.db(tenant)
    ours = ResponseIngestion(runtime)

    def batch(month: int, levels: int) -> list[Any]:
        at = datetime(2026, month, 10, tzinfo=UTC)
        return [response(tenant, "i1", levels={"finances": levels}, at=at)]

    assert await ours(db, batch(1, 2), "test") == {}
    follow_up = batch(3, 4)
    await ours.prepare(db, follow_up)  # reads i1's interventions: none yet
    assert await record_intervention(
        runtime,
        tenant,
        InterventionInput(
            intervention_id="iv-1",
            person_id="i1",
            type="walking_group",
            occurred_at=datetime(2026, 2, 1, tzinfo=UTC),
        ),
    )
    assert await ours(db, follow_up, "test") == {}

    stored = [stored_from_document(d) async for d in db.measurements.find({"person_id": "i1"})]
    ivs = (await MotorRepositories(db, None, tenant).interventions.of_persons(["i1"])).get("i1", [])
    expected = {k: v for k, v in persona_cells(tenant, stored, ivs).items() if not v.is_zero()}
    actual = {}
    async for doc in db.persona_cells.find({}):
        found = persona_from_document(tenant, doc)
        if found is not None and not found[1].is_zero():
            actual[found[0]] = found[1]
    assert expected and actual == expected
    assert {k.intervention_type for k in actual} == {"walking_group"}


async def test_an_instrument_published_after_ingestion_started_is_accepted(  # type: ignore[no-untyped-def]
    harness: Harness, two_tenants
) -> None:
    """Ingestion keeps the tenant's instrument families in memory: an event of a family it
    has not seen makes it read them again instead of dead-lettering the event."""
    tenant = two_tenants.a
    db = await harness.db(tenant)
    first = response(tenant, "p-first", levels={"finances": 2})
    await harness.publish(first)
    await wait_for(lambda: db.measurements.find_one({"_id": first.data.response_id}))

    await harness.publish(
        event(
            InstrumentPublished(
                instrument_id="wellbeing-kids",
                family="wellbeing-kids",
                variant="standard",
                version=1,
                purpose="measurement",
                dimension_codes=["play"],
            ),
            tenant,
            subject="wellbeing-kids",
        )
    )
    await wait_for(lambda: db.instruments.find_one({"_id": "wellbeing-kids"}))
    new_family = response(tenant, "p-kid", family="wellbeing-kids", scores={"play": 7.0})
    await harness.publish(new_family)

    stored = await wait_for(lambda: db.measurements.find_one({"_id": new_family.data.response_id}))
    assert stored["family"] == "wellbeing-kids"
    assert await dlq_count(harness, tenant) == 0


async def dlq_count(harness: Harness, tenant: str) -> int:
    dead = await read_subject(harness.js, f"dlq.*.{DURABLE}", "DLQ")
    return sum(1 for d in dead if f"wk.{tenant}." in str(d["original_subject"]))
