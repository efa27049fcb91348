"""Looking for what is left of an erased person, everywhere (`wk privacy verify-erasure`).

Reads every service's database of the tenant (`wk_<service>_<tenant>`: the platform's naming,
architecture §6) and every stream; reports each document and message that still contains the
person's id. Person ids are random UUIDs, so a plain text search has no false hits. An
operator's tool: services never read each other's databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import json_util
from motor.motor_asyncio import AsyncIOMotorClient
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from wijkkracht_common.export import export_bucket
from wijkkracht_common.outbox import OUTBOX, record_events
from wijkkracht_common.stream_purge import Residue, find_person


@dataclass(frozen=True)
class StoredResidue:
    database: str
    collection: str
    document_id: str


def _text(collection: str, doc: dict[str, Any]) -> str:
    text = json_util.dumps(doc)
    if collection == OUTBOX and "events_z" in doc:  # compressed batch records
        text += "".join(payload for _, _, payload in record_events(doc))
    return text


async def scan_databases(mongo_url: str, tenant: str, person_id: str) -> list[StoredResidue]:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    found: list[StoredResidue] = []
    try:
        names = await client.list_database_names()
        for name in sorted(n for n in names if n.startswith("wk_") and n.endswith(f"_{tenant}")):
            db = client[name]
            for collection in sorted(await db.list_collection_names()):
                if collection.startswith("system."):
                    continue
                async for doc in db[collection].find({}):
                    if person_id in _text(collection, doc):
                        found.append(StoredResidue(name, collection, str(doc.get("_id"))))
    finally:
        client.close()
    return found


async def scan_streams(js: JetStreamContext, tenant: str, person_id: str) -> list[Residue]:
    return await find_person(js, tenant, person_id)


async def scan_exports(js: JetStreamContext, tenant: str, person_id: str) -> list[str]:
    """Export parts of the tenant in the `EXPORTS` object store that name the person (parts
    are JSON; zipped archives are checked by name only: identity keys them by export id)."""
    bucket = await export_bucket(js)
    try:
        infos = await bucket.list()
    except NotFoundError:
        return []
    found = []
    needle = person_id.encode()
    for info in infos:
        if not info.name.startswith(f"{tenant}/") or info.deleted:
            continue
        data = (await bucket.get(info.name)).data or b""
        if needle in data:
            found.append(info.name)
    return found
