"""Erasure reaches the streams: an erased person's messages are found and deleted once every
consumer is done with them; the scanner finds residue in databases and streams."""

from __future__ import annotations

import asyncio
import uuid
from typing import ClassVar

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from wijkkracht_common.events.envelope import EventData, new_event
from wijkkracht_common.events.identity import PersonProfileUpdated
from wijkkracht_common.outbox import stage
from wijkkracht_common.privacy_scan import scan_databases
from wijkkracht_common.storage import Storage
from wijkkracht_common.stream_purge import find_person, purge_person
from wijkkracht_common.testing.plugin import purge_tenant_events

pytestmark = pytest.mark.integration


class PurgeProbe(EventData):
    """An event no other test's durable consumer listens to (their ack floors would defer)."""

    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "purge_probe_test"
    person_id: str
    n: int


async def _publish_about(js: JetStreamContext, tenant: str, person: str, n: int) -> None:
    for i in range(n):
        event = new_event(PurgeProbe(person_id=person, n=i), tenant=tenant, subject=person)
        await js.publish(
            event.nats_subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
        )


async def test_purge_deletes_what_every_consumer_acknowledged_and_defers_the_rest(
    js: JetStreamContext,
) -> None:
    tenant = f"pg-{uuid.uuid4().hex[:6]}"
    person, other = str(uuid.uuid4()), str(uuid.uuid4())
    durable = f"purgetest_{uuid.uuid4().hex[:6]}"
    await js.add_consumer(
        "IDENTITY",
        ConsumerConfig(
            durable_name=durable,
            filter_subject=f"wk.{tenant}.identity.>",
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30,
        ),
    )
    await _publish_about(js, tenant, person, 3)
    await _publish_about(js, tenant, other, 1)
    try:
        assert len(await find_person(js, tenant, person)) == 3
        sub = await js.pull_subscribe_bind(durable, stream="IDENTITY")
        delivered = await sub.fetch(4, timeout=5)  # a running consumer, nothing acked yet
        first = await purge_person(js, tenant, person)
        assert (first.deleted, first.deferred) == (0, 3)

        for msg in delivered:
            await msg.ack_sync()
        second = await purge_person(js, tenant, person)
        assert (second.deleted, second.deferred) == (3, 0)
        assert await find_person(js, tenant, person) == []
        assert len(await find_person(js, tenant, other)) == 1  # nobody else's messages
    finally:
        await js.delete_consumer("IDENTITY", durable)


async def test_the_scanner_finds_a_person_in_documents_and_compressed_outbox_records(
    storage: Storage, mongo_url: str
) -> None:
    tenant = f"sc-{uuid.uuid4().hex[:6]}"
    person = str(uuid.uuid4())
    db = await storage.tenant_db(tenant)
    await db.things.insert_one({"_id": "a", "nested": {"list": [{"who": person}]}})
    await db.things.insert_one({"_id": "b", "who": "someone else"})
    events = [
        new_event(PersonProfileUpdated(person_id=p), tenant=tenant, subject=p)
        for p in ("x1", person, "x2")
    ]
    await stage(db, events, batched=True)
    found = await scan_databases(mongo_url, tenant, person)
    assert {(r.collection, r.document_id) for r in found} == {
        ("things", "a"),
        ("outbox", events[0].id),
    }
    await storage.drop_tenant(tenant)
    assert await scan_databases(mongo_url, tenant, person) == []


async def test_a_consumer_that_is_not_running_does_not_hold_a_purge_back(
    js: JetStreamContext,
) -> None:
    tenant = f"pg-{uuid.uuid4().hex[:6]}"
    person = str(uuid.uuid4())
    durable = f"purgestale_{uuid.uuid4().hex[:6]}"
    await js.add_consumer(
        "IDENTITY",
        ConsumerConfig(
            durable_name=durable,
            filter_subject=f"wk.{tenant}.identity.>",
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30,
        ),
    )  # never pulls: a retired service
    await _publish_about(js, tenant, person, 2)
    try:
        result = await purge_person(js, tenant, person)
        assert (result.deleted, result.deferred) == (2, 0)
    finally:
        await js.delete_consumer("IDENTITY", durable)


async def test_a_finished_tests_tenants_leave_no_events_behind(
    js: JetStreamContext, nats_url: str
) -> None:
    """After a test the plugin empties the streams of its tenants (`_clean_test_tenants`), so
    later tests' consumers do not first work through earlier tests' events; others keep theirs."""
    gone, kept = f"pg-{uuid.uuid4().hex[:6]}", f"pg-{uuid.uuid4().hex[:6]}"
    await _publish_about(js, gone, str(uuid.uuid4()), 2)
    await _publish_about(js, kept, str(uuid.uuid4()), 1)

    await asyncio.to_thread(purge_tenant_events, nats_url, [gone])

    assert await find_person(js, gone, "") == []
    assert len(await find_person(js, kept, "")) == 1
