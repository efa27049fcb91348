"""The export contract (architecture §9): every service contributes its part of a person's
data to one archive, the same way.

1. Identity publishes `person_export_requested` (export id, person id).
2. Each service's `service/export.py` answers with `contribute(runtime, envelope, delivery,
   build=..., answer=<Service>PersonDataExported)`: `build(db, person_id)` reads the person's
   data through the service's repositories and returns it as a JSON-ready dict (its
   `counts` key, if any, says how many records of each kind). The part is stored in the
   NATS object store bucket `EXPORTS` as `<tenant>/<export id>/<service>.json`, then the
   answer event is staged through `apply_once` (at most once per request).
3. Identity collects the parts (`read_part`) when every service answered, builds the archive
   (JSON per service, a readable summary) and offers it to the resident.

Parts live in the bucket for `EXPORT_TTL_SECONDS` only; erasure removes a person's parts at
once (`delete_parts`). A new service joins by writing `build` and subscribing `contribute`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.object_store import ObjectStore

from wijkkracht_common.events.common import PersonDataExportedBase
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.messaging import Committer, Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Database, Session

EXPORT_BUCKET = "EXPORTS"
EXPORT_TTL_SECONDS = 7 * 86_400

Build = Callable[[Database[dict[str, Any]], str], Awaitable[dict[str, Any]]]


async def export_bucket(js: JetStreamContext) -> ObjectStore:
    try:
        return await js.object_store(EXPORT_BUCKET)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_object_store(
            EXPORT_BUCKET,
            config=ObjectStoreConfig(ttl=EXPORT_TTL_SECONDS, storage=StorageType.FILE),
        )


def part_name(tenant: str, export_id: str, service: str) -> str:
    return f"{tenant}/{export_id}/{service}.json"


async def contribute(
    runtime: Any,
    envelope: Envelope[PersonExportRequested],
    delivery: Delivery,
    *,
    build: Build,
    answer: type[PersonDataExportedBase],
) -> bool:
    """Store this service's part of the export and answer (see the module docstring).
    `runtime`: the service's ServiceRuntime."""
    tenant, data = envelope.tenant, envelope.data
    db = await runtime.storage.tenant_db(tenant)
    part = await build(db, data.person_id)
    name = part_name(tenant, data.export_id, answer.producer)
    document = {"service": answer.producer, "person_id": data.person_id, **part}
    bucket = await export_bucket(runtime.js)
    # Stored before the answer is committed; a redelivery stores the same part again.
    await bucket.put(name, json.dumps(document, default=str, ensure_ascii=False).encode())
    counts = {str(k): int(v) for k, v in dict(part.get("counts", {})).items()}
    reply = answer(
        export_id=data.export_id, person_id=data.person_id, object_name=name, counts=counts
    )

    async def effect(_db: Database[dict[str, Any]], _session: Session) -> Sequence[Staged]:
        return [new_event(reply, tenant=tenant, subject=data.person_id, actor=envelope.actor)]

    committer: Committer = runtime
    return await apply_once(committer, envelope, delivery, effect, person=data.person_id)


async def read_part(js: JetStreamContext, object_name: str) -> dict[str, Any]:
    bucket = await export_bucket(js)
    result = await bucket.get(object_name)
    part: dict[str, Any] = json.loads(result.data or b"{}")
    return part


async def delete_parts(js: JetStreamContext, object_names: Sequence[str]) -> int:
    """Erasure: remove parts still in the bucket; returns how many were there."""
    bucket = await export_bucket(js)
    deleted = 0
    for name in object_names:
        try:
            await bucket.delete(name)
        except NotFoundError:
            continue
        deleted += 1
    return deleted
