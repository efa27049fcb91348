"""Storage on the embedded database: collections a transaction reads exist before it runs."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from wijkkracht_common.storage import IndexSpec, Session, Storage

pytestmark = pytest.mark.integration


async def test_an_index_spec_without_indexes_creates_the_collection_so_a_transaction_can_read_it(
    mongo_url: str,
) -> None:
    storage = Storage(mongo_url, "storagetest", (IndexSpec("counters"),))
    tenant = f"s-{uuid.uuid4().hex[:6]}"
    try:
        db = await storage.tenant_db(tenant)
        assert "counters" in await db.list_collection_names()

        async def work(session: Session) -> int:
            # nx-27017 ends a transaction whose first read names a collection that does not
            # exist yet; the commit would then fail with "No session specified".
            found = await db.counters.find_one({"_id": "epoch"}, session=session)
            await db.counters.update_one(
                {"_id": "epoch"}, {"$inc": {"n": 1}}, upsert=True, session=session
            )
            return 0 if found is None else int(found["n"])

        assert await storage.in_transaction(db, work) == 0
        assert await storage.in_transaction(db, work) == 1

        again = Storage(mongo_url, "storagetest", (IndexSpec("counters"),))
        await again.tenant_db(tenant)  # an existing collection is left as it is
        assert (await db.counters.find_one({"_id": "epoch"}))["n"] == 2
        again.close()
    finally:
        await storage.drop_tenant(tenant)
        storage.close()


class RolledBack(Exception):
    pass


async def test_read_committed_never_sees_what_a_running_transaction_wrote(mongo_url: str) -> None:
    storage = Storage(mongo_url, "storagetest", (IndexSpec("things"),))
    tenant = f"r-{uuid.uuid4().hex[:6]}"
    try:
        db = await storage.tenant_db(tenant)
        inside, release = asyncio.Event(), asyncio.Event()

        async def work(session: Session) -> None:
            await db.things.insert_one({"_id": "uncommitted"}, session=session)
            inside.set()
            await release.wait()
            raise RolledBack

        transaction = asyncio.create_task(storage.in_transaction(db, work))
        await inside.wait()
        reader = asyncio.create_task(
            storage.read_committed(db, lambda: db.things.find_one({"_id": "uncommitted"}))
        )
        await asyncio.sleep(0.2)  # the reader must not run while the transaction is open
        release.set()
        with pytest.raises(RolledBack):
            await transaction
        assert await reader is None
    finally:
        await storage.drop_tenant(tenant)
        storage.close()
