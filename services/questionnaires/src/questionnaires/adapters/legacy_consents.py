"""One-off move of the service's former consent projection (collection `consents`) into the
platform's one projection (`wijkkracht_common.consent`).

Without it, the switch would lose every consent given before it (the durable consumers had
acknowledged those events long ago) and leave person ids in a collection nothing reads or
erases any more. A job runs it at start and then daily; a tenant database without the old
collection costs one listing of its collection names. States of persons erased meanwhile are
not moved. The old documents carry no version: they are moved as version 0 with their time,
so any versioned event identity publishes later supersedes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wijkkracht_common import consent, erasure
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.observability import get_logger
from wijkkracht_common.outbox import Staged
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session, stored_datetime
from wijkkracht_common.tenancy import PLATFORM_TENANT

LEGACY_CONSENTS = "consents"
INTERVAL_SECONDS = 86_400.0

log = get_logger(__name__)
Db = Database[dict[str, Any]]


def _state(doc: dict[str, Any]) -> ConsentState | None:
    at = stored_datetime(doc.get("at"))
    if at is None:
        return None
    return ConsentState(
        person_id=str(doc["person_id"]),
        organisation=str(doc["organisation"]),
        purpose=str(doc["purpose"]),
        granted=doc.get("state") == "granted",
        version=0,
        at=at,
    )


async def migrate_tenant(runtime: ServiceRuntime, tenant: str) -> int:
    """Move the tenant's old consent documents, then drop the old collection; how many
    states were stored (0 when there was nothing to move)."""
    storage = runtime.storage
    # The raw database first: listing its collections must not create the declared ones.
    raw = storage.client[storage.database_name(tenant)]
    if LEGACY_CONSENTS not in await raw.list_collection_names():
        return 0

    async def work(db: Db, session: Session) -> tuple[int, Sequence[Staged]]:
        moved = 0
        async for doc in db[LEGACY_CONSENTS].find({}, session=session):
            state = _state(doc)
            if state is None or await erasure.is_erased(
                db, tenant, state.person_id, session=session
            ):
                continue
            moved += await consent.apply_change(db, state, session=session)
        return moved, []

    await storage.tenant_db(tenant)  # declared collections exist before the transaction
    moved = await runtime.commit(tenant, work)
    await raw.drop_collection(LEGACY_CONSENTS)
    log.info("former consent projection moved", tenant=tenant, states=moved)
    return moved


def migration_job(runtime: ServiceRuntime) -> PeriodicTask:
    async def run() -> None:
        for tenant in await runtime.storage.tenants():
            if tenant != PLATFORM_TENANT:
                await migrate_tenant(runtime, tenant)

    return PeriodicTask("legacy-consent-migration", run, INTERVAL_SECONDS)


__all__ = ["LEGACY_CONSENTS", "migrate_tenant", "migration_job"]
