"""Duplicates are applied once; invalid events go to the DLQ while later events still apply;
erasure keeps the aggregate projection equal to the sum over the remaining people."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from conftest import Harness, event, read_subject, response, wait_for
from effect_measurement.adapters.documents import cell_from_document, stored_from_document
from effect_measurement.domain.aggregates import apply_deltas, person_cells
from wijkkracht_common.events.identity import PersonErasureRequested

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
    await wait_for(lambda: db.measurements.find_one({"_id": later.data.response_id}))
    assert await db.measurements.count_documents({"person_id": "p-dup"}) == 1
    assert await db.measurements.count_documents({}) == 2
    period = datetime.now(UTC).strftime("%Y")
    year_all = await db.cells.find({"dimension": "_all", "period": period}).to_list(None)
    assert sum(c["measured"] for c in year_all) == 2  # each person once

    async def dead() -> list[dict[str, object]] | None:
        records = [
            r
            for r in await read_subject(harness.js, f"dlq.*.{DURABLE}", "DLQ")
            if r["original_subject"] == subject
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
