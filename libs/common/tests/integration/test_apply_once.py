"""`messaging.apply_once`: the one way a consumer applies an event. Claim, effect and
follow-up events commit together; a redelivery has no second effect; a failed effect leaves
no claim, so the retry applies it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

import pytest
from wijkkracht_common import inbox
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import OUTBOX, Staged, pending_count, prepare, record_events
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.storage import Database, IndexSpec, Session

pytestmark = pytest.mark.integration


class SomethingAsked(EventData):
    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "something_asked_test"
    n: int


class SomethingDone(EventData):
    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "something_done_test"
    n: int


class Boom(Exception):
    pass


@pytest.fixture
async def runtime(mongo_url: str, nats_url: str) -> AsyncIterator[ServiceRuntime]:
    settings = BaseServiceSettings(
        service_name="applyonce",
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        log_level="WARNING",
    )
    # staged events stay inspectable; the collection is declared, as services declare theirs
    rt = ServiceRuntime(settings, indexes=[IndexSpec("counters")], run_relay=False)
    yield rt
    rt.storage.close()


def _delivery() -> Delivery:
    return Delivery(
        subject="wk.t.identity.something_asked_test.v1",
        attempt=1,
        durable="applyonce__identity_something_asked_test_v1",
    )


async def test_an_event_applies_once_with_its_follow_up_events(runtime: ServiceRuntime) -> None:
    tenant = f"once-{uuid.uuid4().hex[:6]}"
    asked = new_event(SomethingAsked(n=7), tenant=tenant, subject="s1")

    async def effect(db: Database[dict[str, Any]], session: Session) -> Sequence[Staged]:
        await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}, upsert=True, session=session)
        return [new_event(SomethingDone(n=asked.data.n), tenant=tenant, subject="s1")]

    assert await apply_once(runtime, asked, _delivery(), effect) is True
    assert await apply_once(runtime, asked, _delivery(), effect) is False  # redelivered

    db = await runtime.storage.tenant_db(tenant)
    assert (await db.counters.find_one({"_id": "c"}))["n"] == 1
    assert await pending_count(db) == 1  # one follow-up, staged once
    await runtime.storage.drop_tenant(tenant)


async def test_a_failing_effect_leaves_no_claim_and_no_event(runtime: ServiceRuntime) -> None:
    tenant = f"once-{uuid.uuid4().hex[:6]}"
    asked = new_event(SomethingAsked(n=1), tenant=tenant, subject="s2")
    calls = 0

    async def effect(db: Database[dict[str, Any]], session: Session) -> Sequence[Staged]:
        nonlocal calls
        calls += 1
        await db.counters.insert_one({"_id": f"c{calls}"}, session=session)
        if calls == 1:
            raise Boom
        return [new_event(SomethingDone(n=1), tenant=tenant, subject="s2")]

    with pytest.raises(Boom):
        await apply_once(runtime, asked, _delivery(), effect)
    db = await runtime.storage.tenant_db(tenant)
    assert await db.counters.count_documents({}) == 0
    assert await pending_count(db) == 0
    assert await inbox.unseen(db, _delivery().durable, [asked.id]) == [asked.id]

    assert await apply_once(runtime, asked, _delivery(), effect) is True  # the retry
    assert await db.counters.count_documents({}) == 1
    assert await pending_count(db) == 1
    await runtime.storage.drop_tenant(tenant)


async def test_prepared_records_are_staged_as_they_were_prepared(
    runtime: ServiceRuntime,
) -> None:
    tenant = f"prep-{uuid.uuid4().hex[:6]}"
    events: list[Envelope[Any]] = [
        new_event(SomethingDone(n=i), tenant=tenant, subject=f"p{i}") for i in range(3)
    ]
    prepared = prepare(events)

    async def work(db: Database[dict[str, Any]], session: Session) -> tuple[int, list[Staged]]:
        return 3, list(prepared)

    assert await runtime.commit(tenant, work) == 3
    db = await runtime.storage.tenant_db(tenant)
    stored = await db[OUTBOX].find({}).sort("_id", 1).to_list(None)
    assert [record_events(doc)[0] for doc in stored] == [
        (e.id, e.nats_subject, e.model_dump_json()) for e in events
    ]
    await runtime.storage.drop_tenant(tenant)
