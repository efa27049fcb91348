"""The export contract: a service stores its part of a person's export in the object store and
answers once, however often the request is delivered."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from wijkkracht_common import export
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.events.social_map import SocialMapPersonDataExported
from wijkkracht_common.messaging import Delivery, subscribe
from wijkkracht_common.outbox import OUTBOX, record_events
from wijkkracht_common.privacy_scan import scan_exports
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.storage import Database
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(mongo_url: str, nats_url: str) -> AsyncIterator[ServiceRuntime]:
    name = f"exporttest{uuid.uuid4().hex[:6]}"
    settings = BaseServiceSettings(
        service_name=name,
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        log_level="WARNING",
        outbox_retain_sent=True,
        outbox_poll_seconds=0.1,
    )
    rt = ServiceRuntime(settings)

    async def build(db: Database[dict[str, Any]], person_id: str) -> dict[str, Any]:
        notes = await db.notes.find({"person_id": person_id}).to_list(None)
        return {"notes": [n["text"] for n in notes], "counts": {"notes": len(notes)}}

    async def handler(envelope: Envelope[PersonExportRequested], delivery: Delivery) -> bool:
        return await export.contribute(
            rt, envelope, delivery, build=build, answer=SocialMapPersonDataExported
        )

    subscribe(
        rt.broker,
        consumer_service=name,
        event_cls=PersonExportRequested,
        handler=handler,
        js=lambda: rt.js,
        metrics=rt.metrics,
    )
    async with rt.lifespan():
        yield rt


async def test_a_part_is_stored_and_answered_once(runtime: ServiceRuntime, nats_url: str) -> None:
    tenant = f"ex-{uuid.uuid4().hex[:6]}"
    person = str(uuid.uuid4())
    db = await runtime.storage.tenant_db(tenant)
    await db.notes.insert_many(
        [
            {"person_id": person, "text": "Mijn plan"},
            {"person_id": "someone-else", "text": "niet van mij"},
        ]
    )
    request = new_event(
        PersonExportRequested(export_id="x1", person_id=person), tenant=tenant, subject=person
    )
    nc = await nats.connect(nats_url)
    try:
        for _ in range(2):  # delivered twice (e.g. re-sent under the same id after a crash)
            await nc.jetstream().publish(request.nats_subject, request.model_dump_json().encode())

        async def answers() -> list[Any]:
            docs = await db[OUTBOX].find({}).to_list(None)
            return [e for d in docs for e in record_events(d) if "person_data_exported" in e[1]]

        found = await eventually(answers)
        part = await export.read_part(nc.jetstream(), export.part_name(tenant, "x1", "social_map"))
        assert part["notes"] == ["Mijn plan"] and part["person_id"] == person
        await eventually(lambda: _duplicates(runtime))
        assert len(await answers()) == len(found) == 1
        name = export.part_name(tenant, "x1", "social_map")
        assert await scan_exports(nc.jetstream(), tenant, person) == [name]
        assert await export.delete_parts(nc.jetstream(), [name]) == 1
        assert await scan_exports(nc.jetstream(), tenant, person) == []
    finally:
        await nc.drain()
        await runtime.storage.drop_tenant(tenant)


async def _duplicates(runtime: ServiceRuntime) -> float:
    name = runtime.settings.service_name
    value = runtime.metrics.registry.get_sample_value(
        "wk_events_consumed_total",
        {
            "service": name,
            "consumer": f"{name}__identity_person_export_requested_v1",
            "outcome": "duplicate",
        },
    )
    return value or 0.0
