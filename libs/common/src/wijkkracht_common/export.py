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

A request delivered again (a crash before the ack, a re-send) stores its part again only when
the part changed: a re-put purges the old chunks, and nats-py's `ObjectStore.get` waits forever
for chunks purged under it. `read_part` bounds each read and reads the newer version instead.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.object_store import OBJ_DIGEST_TEMPLATE, ObjectStore

from wijkkracht_common.events.common import PersonDataExportedBase
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.messaging import Committer, Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Database, Session

EXPORT_BUCKET = "EXPORTS"
EXPORT_TTL_SECONDS = 7 * 86_400
#: A part is a few kilobytes, read from a local NATS in milliseconds; a read still waiting after
#: this long waits for chunks a concurrent re-put purged, and is made again on the new version.
READ_ATTEMPT_SECONDS = 5.0
READ_ATTEMPTS = 3


class PartUnreadable(Exception):
    """The part kept changing under every read (transient: the caller tries again later)."""


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
    # Stored before the answer is committed; a redelivery stores it again only if it changed.
    payload = json.dumps(document, default=str, ensure_ascii=False).encode()
    if await _stored_digest(bucket, name) != _digest(payload):
        await bucket.put(name, payload)
    counts = {str(k): int(v) for k, v in dict(part.get("counts", {})).items()}
    reply = answer(
        export_id=data.export_id, person_id=data.person_id, object_name=name, counts=counts
    )

    async def effect(_db: Database[dict[str, Any]], _session: Session) -> Sequence[Staged]:
        return [new_event(reply, tenant=tenant, subject=data.person_id, actor=envelope.actor)]

    committer: Committer = runtime
    return await apply_once(committer, envelope, delivery, effect, person=data.person_id)


def _digest(payload: bytes) -> str:
    """The object store's own digest of `payload` (what `ObjectInfo.digest` holds)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(payload).digest()).decode()
    return OBJ_DIGEST_TEMPLATE.format(digest=digest)


async def _stored_digest(bucket: ObjectStore, name: str) -> str | None:
    try:
        info = await bucket.get_info(name)
    except NotFoundError:
        return None
    return None if info.deleted else info.digest


async def read_part(js: JetStreamContext, object_name: str) -> dict[str, Any]:
    """A stored part. `NotFoundError` when there is none (expired or erased);
    `PartUnreadable` when each of `READ_ATTEMPTS` reads waited in vain."""
    bucket = await export_bucket(js)
    for _ in range(READ_ATTEMPTS):
        try:
            async with asyncio.timeout(READ_ATTEMPT_SECONDS):
                result = await bucket.get(object_name)
        except TimeoutError:
            continue  # re-put meanwhile: the next read takes the newer version
        part: dict[str, Any] = json.loads(result.data or b"{}")
        return part
    raise PartUnreadable(
        f"export part {object_name} unreadable after {READ_ATTEMPTS} attempts"
        f" of {READ_ATTEMPT_SECONDS:g} s"
    )


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
