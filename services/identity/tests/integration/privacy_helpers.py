"""Playing the other services in identity's privacy tests: their export parts (stored in the
object store, answered on NATS) and events about a person, published like their relays do."""

from __future__ import annotations

import json
from typing import Any

import nats
from identity.service.context import Identity
from identity.service.erasure import purge_streams
from wijkkracht_common import export
from wijkkracht_common.events.common import PersonDataExportedBase
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.inbox import INBOX
from wijkkracht_common.messaging import durable_name
from wijkkracht_common.storage import Database
from wijkkracht_common.testing.waiting import eventually


async def publish(nats_url: str, tenant: str, data: EventData, *, subject: str) -> Envelope[Any]:
    envelope = new_event(data, tenant=tenant, subject=subject, actor="system:test")
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            type(data).subject_for(tenant),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id},
        )
    finally:
        await nc.drain()
    return envelope


async def answer_export(
    nats_url: str,
    tenant: str,
    answer: type[PersonDataExportedBase],
    *,
    export_id: str,
    person_id: str,
    part: dict[str, Any],
) -> Envelope[Any]:
    """What `export.contribute` does in a service: the part in the store, then the answer."""
    name = export.part_name(tenant, export_id, answer.producer)
    nc = await nats.connect(nats_url)
    try:
        bucket = await export.export_bucket(nc.jetstream())
        document = {"service": answer.producer, "person_id": person_id, **part}
        await bucket.put(name, json.dumps(document).encode())
    finally:
        await nc.drain()
    counts = {str(k): int(v) for k, v in part.get("counts", {}).items()}
    data = answer(export_id=export_id, person_id=person_id, object_name=name, counts=counts)
    return await publish(nats_url, tenant, data, subject=person_id)


async def claimed(
    db: Database[dict[str, Any]], event_cls: type[EventData], envelope: Envelope[Any]
) -> bool:
    """Identity's consumer took the event (applied, or dropped for an erased person)."""
    key = f"{durable_name('identity', event_cls)}:{envelope.id}"
    return await db[INBOX].find_one({"_id": key}) is not None


async def purged(ctx: Identity) -> int:
    """Run the stream purge until it finds nothing left of the erased person. A message is
    deleted only once every durable consumer acknowledged it; the test apps share identity's
    durables, so a message a stopped app left unacknowledged holds the purge back until its
    ack wait (30 s) runs out and the running app takes it: hence the long bound."""
    return await eventually(lambda: purge_streams(ctx), timeout=150, interval=0.5)
