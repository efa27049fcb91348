"""`wk demo seed`: the demo tenant's social map (idempotent; dev mode only).

Writes identity's demo neighbourhood table into the projection (so search by PC4 works before
identity's `NeighbourhoodsImported` arrives; the event later replaces it with the same rows),
the owner records (`welzijn-demo`, `gemeente-demo` are identity's demo organisations) and ≥ 300
entries through the normal import path (events staged in the outbox; unchanged entries are
skipped on a second run).
"""

from __future__ import annotations

from datetime import UTC, datetime

from wijkkracht_common.runtime import ServiceRuntime

from social_map.adapters import repositories as repo
from social_map.adapters.repositories import INDEXES
from social_map.demo.generator import demo_map
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.service.context import ServiceContext, system_clock
from social_map.service.interchange import IMPORT_ACTOR, write_import
from social_map.settings import Settings


async def seed_tenant(ctx: ServiceContext, tenant: str) -> str:
    db = await ctx.db(tenant)
    if not await repo.neighbourhoods(db):
        await repo.replace_neighbourhoods(db, DEMO_NEIGHBOURHOODS, session=None)
    # stable content: the reference moment is the day the tenant was first seeded
    marker = await db[repo.CONFIG].find_one({"_id": "demo"})
    reference = (
        marker["reference"]
        if marker
        else datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    )
    if marker is None:
        await db[repo.CONFIG].insert_one({"_id": "demo", "reference": reference})
    data = demo_map(reference=reference)
    for org in data.organizations:
        await repo.save_organisation(db, org, session=None)
    summary = await write_import(ctx, tenant, data, actor=IMPORT_ACTOR)
    return (
        f"{len(data.entries)} entries in {len(DEMO_NEIGHBOURHOODS)} neighbourhoods "
        f"({summary.created} new, {summary.updated} updated)"
    )


async def seed() -> str:
    settings = Settings()
    runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=False)
    try:
        return await seed_tenant(
            ServiceContext(runtime, settings, system_clock), settings.demo_tenant
        )
    finally:
        runtime.storage.close()
