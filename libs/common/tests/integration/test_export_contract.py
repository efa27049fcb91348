"""The export contract: a service stores its part of a person's export in the object store and
answers once, however often the request is delivered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError
from nats.js.object_store import OBJ_CHUNKS_PRE_TEMPLATE, OBJ_STREAM_TEMPLATE
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
STREAM = OBJ_STREAM_TEMPLATE.format(bucket=export.EXPORT_BUCKET)


def _chunks(nuid: str | None) -> str:
    """The subject of one stored version's chunks."""
    return OBJ_CHUNKS_PRE_TEMPLATE.format(bucket=export.EXPORT_BUCKET, obj=nuid)


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


async def test_a_request_delivered_again_leaves_the_stored_part_as_it_was(
    runtime: ServiceRuntime, nats_url: str
) -> None:
    """Storing an unchanged part again would purge the chunks a reader may be reading."""
    tenant = f"ex-{uuid.uuid4().hex[:6]}"
    person = str(uuid.uuid4())
    db = await runtime.storage.tenant_db(tenant)
    await db.notes.insert_one({"person_id": person, "text": "Mijn plan"})
    request = new_event(
        PersonExportRequested(export_id="x2", person_id=person), tenant=tenant, subject=person
    )
    name = export.part_name(tenant, "x2", "social_map")
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        bucket = await export.export_bucket(js)
        await js.publish(request.nats_subject, request.model_dump_json().encode())
        first = await eventually(lambda: _info_or_none(bucket, name))
        duplicates = await _duplicates(runtime)
        await js.publish(request.nats_subject, request.model_dump_json().encode())
        await eventually(lambda: _more_than(runtime, duplicates))
        assert (await bucket.get_info(name)).nuid == first.nuid  # not stored again
        await db.notes.insert_one({"person_id": person, "text": "Nog een plan"})
        changed = new_event(
            PersonExportRequested(export_id="x2", person_id=person), tenant=tenant, subject=person
        )
        await js.publish(changed.nats_subject, changed.model_dump_json().encode())
        await eventually(lambda: _nuid_changed(bucket, name, first.nuid))
        assert (await export.read_part(js, name))["counts"] == {"notes": 2}
    finally:
        await nc.drain()
        await runtime.storage.drop_tenant(tenant)


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[Any]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.drain()


async def _stored_then_purged(js: Any, export_id: str) -> tuple[str, str | None]:
    """A part (version 1) whose chunks are gone: what a reader meets that read its meta
    just before the part was stored again. Returns the part's name and that version's nuid."""
    name = export.part_name(f"ex-{uuid.uuid4().hex[:6]}", export_id, "social_map")
    info = await (await export.export_bucket(js)).put(name, b'{"version": 1}')
    await js.purge_stream(STREAM, subject=_chunks(info.nuid))
    return name, info.nuid


async def test_a_read_whose_chunks_are_purged_under_it_reads_the_new_version(
    js: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part stored again while it is read: nats-py's get waits forever for the purged
    chunks; read_part gives up on that read and reads the new version."""
    monkeypatch.setattr(export, "READ_ATTEMPT_SECONDS", 2.0)
    name, old_nuid = await _stored_then_purged(js, "x3")
    reading = asyncio.create_task(export.read_part(js, name))
    await eventually(lambda: _reading(js, old_nuid))
    await (await export.export_bucket(js)).put(name, b'{"version": 2}')
    async with asyncio.timeout(30):  # before: waited forever
        assert await reading == {"version": 2}
    await export.delete_parts(js, [name])
    with pytest.raises(NotFoundError):  # gone is gone, not "unreadable"
        await export.read_part(js, name)


async def test_a_part_whose_chunks_never_come_is_reported_unreadable(
    js: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "READ_ATTEMPT_SECONDS", 0.2)
    name, _ = await _stored_then_purged(js, "x4")
    with pytest.raises(export.PartUnreadable, match="3 attempts"):
        await export.read_part(js, name)
    await export.delete_parts(js, [name])


async def _info_or_none(bucket: Any, name: str) -> Any:
    try:
        return await bucket.get_info(name)
    except NotFoundError:
        return None


async def _more_than(runtime: ServiceRuntime, before: float) -> bool:
    return await _duplicates(runtime) > before


async def _nuid_changed(bucket: Any, name: str, nuid: str | None) -> bool:
    current: str | None = (await bucket.get_info(name)).nuid
    return current != nuid


async def _reading(js: Any, nuid: str | None) -> bool:
    """A reader waits on the chunks of version `nuid` (its ordered consumer exists)."""
    consumers = await js.consumers_info(STREAM)
    return any(c.config.filter_subject == _chunks(nuid) for c in consumers)
