"""Motor repositories of the social map (through wijkkracht_common.storage only).

nx-27017 quirk: `replace_one(..., upsert=True)` does not take `_id` from the filter (it
inserts a new ObjectId), so every replacement document carries its `_id` itself; and an
equality match on an indexed array field finds nothing, so array fields are queried with `$in`.

Every function takes the tenant's database (`wk_social_map_<tenant>`) and, for writes, the
session of the surrounding `runtime.commit` transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from wijkkracht_common.storage import ASCENDING, Database, IndexModel, IndexSpec, Session

from social_map.adapters.documents import ENTRIES as ENTRIES
from social_map.adapters.documents import StoredEntry, stored_entry
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Organization
from social_map.domain.taxonomy import Category, Taxonomy, default_taxonomy

Db = Database[dict[str, Any]]

CONFIG = "config"
ORGANISATIONS = "organisations"
NEIGHBOURHOODS = "neighbourhoods"
RESIDENTS = "residents"
CONSENTS = "consents"
RESPONSES = "responses"
TASKS = "tasks"
SEQ = "entry_seq"  # CONFIG document: the tenant's entry change counter

# nx-27017: no index may name `_id` (every insert would fail), see the developer guide.
INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(
        ENTRIES,
        (
            IndexModel([("organization_id", ASCENDING)]),
            IndexModel([("owner_slug", ASCENDING)]),
            IndexModel([("next_check_at", ASCENDING)]),
            IndexModel([("pc4s", ASCENDING)]),
            IndexModel([("tokens_version", ASCENDING)]),
            IndexModel([("seq", ASCENDING)]),
        ),
    ),
    IndexSpec(NEIGHBOURHOODS, (IndexModel([("pc4", ASCENDING)]),)),
    IndexSpec(
        TASKS,
        (
            IndexModel([("owner_slug", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("entry_id", ASCENDING)]),
        ),
    ),
    IndexSpec(RESPONSES, (IndexModel([("person_id", ASCENDING)]),)),
)


# --- tenant configuration: taxonomy and freshness policy -----------------------------------


async def load_taxonomy(db: Db) -> tuple[Taxonomy, int]:
    """The tenant's taxonomy and its version (0 = the default, never edited)."""
    doc = await db[CONFIG].find_one({"_id": "taxonomy"})
    if doc is None:
        return default_taxonomy(), 0
    return Taxonomy.build(Category.model_validate(c) for c in doc["categories"]), int(doc["v"])


async def save_taxonomy(db: Db, taxonomy: Taxonomy, version: int, *, session: Session) -> None:
    await db[CONFIG].replace_one(
        {"_id": "taxonomy"},
        {
            "_id": "taxonomy",
            "v": version,
            "categories": [c.model_dump(mode="json") for c in taxonomy.categories],
        },
        upsert=True,
        session=session,
    )


async def load_policy(db: Db) -> FreshnessPolicy:
    doc = await db[CONFIG].find_one({"_id": "policy"})
    return FreshnessPolicy() if doc is None else FreshnessPolicy.model_validate(doc["policy"])


async def save_policy(db: Db, policy: FreshnessPolicy, *, session: Session) -> None:
    await db[CONFIG].replace_one(
        {"_id": "policy"},
        {"_id": "policy", "policy": policy.model_dump()},
        upsert=True,
        session=session,
    )


# --- organisations -------------------------------------------------------------------------


async def get_organisation(db: Db, org_id: str) -> Organization | None:
    doc = await db[ORGANISATIONS].find_one({"_id": org_id})
    return None if doc is None else Organization.model_validate(doc["org"])


async def organisations(db: Db, ids: Iterable[str] | None = None) -> dict[str, Organization]:
    query: dict[str, Any] = {} if ids is None else {"_id": {"$in": list(ids)}}
    return {
        d["_id"]: Organization.model_validate(d["org"]) async for d in db[ORGANISATIONS].find(query)
    }


async def save_organisation(db: Db, org: Organization, *, session: Session | None) -> None:
    await db[ORGANISATIONS].replace_one(
        {"_id": org.id},
        {"_id": org.id, "org": org.model_dump(mode="json"), "owner_slug": org.tenant_org_slug},
        upsert=True,
        session=session,
    )


# --- entries and their search points -------------------------------------------------------


async def get_entry(db: Db, entry_id: str, *, session: Session | None = None) -> StoredEntry | None:
    doc = await db[ENTRIES].find_one({"_id": entry_id}, session=session)
    return None if doc is None else stored_entry(doc)


async def bump_seq(db: Db, *, session: Session | None) -> int:
    """Next value of the tenant's entry change counter, inside the writing transaction.

    Every write of an entry document stamps it as `seq`. Concurrent writers serialise on the
    counter document (nx-27017 serialises transactions; MongoDB aborts one with a write
    conflict and it is retried), so `seq` order is commit order and `seq > n` finds every
    change after `n`. No upsert: nx-27017 ignores the filter's `_id` on upserts.
    """
    result = await db[CONFIG].update_one({"_id": SEQ}, {"$inc": {"n": 1}}, session=session)
    if result.matched_count == 0:
        await db[CONFIG].insert_one(
            {"_id": SEQ, "n": 1, "epoch": uuid.uuid4().hex}, session=session
        )
        return 1
    doc = await db[CONFIG].find_one({"_id": SEQ}, session=session)
    return int(doc["n"]) if doc else 1


async def current_seq(db: Db) -> tuple[str | None, int]:
    """(epoch, n) of the change counter; the epoch changes when the database is recreated."""
    doc = await db[CONFIG].find_one({"_id": SEQ})
    return (None, 0) if doc is None else (str(doc.get("epoch")), int(doc["n"]))


async def put_entry(db: Db, doc: dict[str, Any], *, session: Session) -> None:
    doc["seq"] = await bump_seq(db, session=session)
    await db[ENTRIES].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)


async def insert_entries(
    db: Db, docs: Sequence[dict[str, Any]], *, session: Session | None
) -> None:
    """Batch insert of new entries (imports): insert_many is ~15x faster than one by one."""
    if docs:
        seq = await bump_seq(db, session=session)
        for doc in docs:
            doc["seq"] = seq
        await db[ENTRIES].insert_many(list(docs), ordered=False, session=session)


async def existing_versions(db: Db, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """id → {v, entry} of the entries that already exist (imports: insert vs. replace)."""
    return {
        d["_id"]: d
        async for d in db[ENTRIES].find(
            {"_id": {"$in": list(ids)}}, projection={"v": 1, "entry": 1}
        )
    }


async def set_freshness(db: Db, entry_id: str, fields: dict[str, Any], *, session: Session) -> None:
    fields = {**fields, "seq": await bump_seq(db, session=session)}
    await db[ENTRIES].update_one({"_id": entry_id}, {"$set": fields}, session=session)


async def due_for_check(db: Db, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    return await (
        db[ENTRIES]
        .find({"next_check_at": {"$lte": now}}, projection={"entry": 0})
        .limit(limit)
        .to_list(None)
    )


async def search_docs(db: Db, after_seq: int | None) -> list[dict[str, Any]]:
    """Entry documents without their body, for the search index: all of them, or those
    changed after `after_seq`."""
    query: dict[str, Any] = {} if after_seq is None else {"seq": {"$gt": after_seq}}
    return await db[ENTRIES].find(query, projection={"entry": 0}).to_list(None)


async def entry_docs(db: Db, ids: Sequence[str]) -> list[dict[str, Any]]:
    return await db[ENTRIES].find({"_id": {"$in": list(ids)}}).to_list(None)


async def entries_by_pc4(db: Db, pc4s: Iterable[str]) -> list[StoredEntry]:
    docs = await db[ENTRIES].find({"pc4s": {"$in": list(pc4s)}}).to_list(None)
    return [stored_entry(d) for d in docs]


async def all_entry_docs(db: Db, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return await db[ENTRIES].find(query or {}).sort("_id", ASCENDING).to_list(None)


# --- projections of other services' events ------------------------------------------------


async def replace_neighbourhoods(
    db: Db, table: Sequence[Neighbourhood], *, session: Session | None
) -> None:
    await db[NEIGHBOURHOODS].delete_many({}, session=session)
    if table:
        await db[NEIGHBOURHOODS].insert_many(
            [{"_id": n.code, **n.model_dump()} for n in table], session=session
        )


async def neighbourhoods(db: Db) -> list[Neighbourhood]:
    docs = await db[NEIGHBOURHOODS].find({}).sort("code", ASCENDING).to_list(None)
    return [Neighbourhood.model_validate(d) for d in docs]


async def neighbourhood(db: Db, code: str) -> Neighbourhood | None:
    doc = await db[NEIGHBOURHOODS].find_one({"_id": code})
    return None if doc is None else Neighbourhood.model_validate(doc)


async def neighbourhood_of_pc4(db: Db, pc4: str) -> Neighbourhood | None:
    # `$in`, not equality: nx-27017 misses equality matches on an indexed array field
    doc = await db[NEIGHBOURHOODS].find_one({"pc4": {"$in": [pc4]}})
    return None if doc is None else Neighbourhood.model_validate(doc)
