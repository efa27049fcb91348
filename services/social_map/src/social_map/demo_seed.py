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

from social_map.adapters.repositories import INDEXES
from social_map.demo.generator import demo_map
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.service.context import ServiceContext, system_clock
from social_map.service.interchange import IMPORT_ACTOR, write_import
from social_map.settings import Settings


async def seed_tenant(ctx: ServiceContext, tenant: str) -> str:
    reader = await ctx.reader(tenant)
    if not await reader.neighbourhoods():
        await reader.replace_neighbourhoods(DEMO_NEIGHBOURHOODS)
    # stable content: the reference moment is the day the tenant was first seeded
    reference = await reader.demo_reference()
    if reference is None:
        reference = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
        await reader.save_demo_reference(reference)
    data = demo_map(reference=reference)
    for org in data.organizations:
        await reader.save_organisation(org)
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
