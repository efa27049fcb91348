"""Identity's neighbourhood table: its projection (effect of `neighbourhoods_imported`) and
what is read from it (the list, a neighbourhood's entries for its feed and agenda)."""

from __future__ import annotations

from pydantic import ValidationError
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.messaging import PermanentError
from wijkkracht_common.outbox import Staged

from social_map.adapters.repositories import Repository
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Entry
from social_map.service.context import ServiceContext

NOT_FOUND = "Wijk niet gevonden. / Neighbourhood not found."


def parse_neighbourhoods(rows: list[dict[str, object]]) -> list[Neighbourhood]:
    """Identity's rows (code, name, lat, lon, postcodes); older spellings accepted too."""
    table = []
    for row in rows:
        pcs = row.get("postcodes", row.get("pc4", []))
        if isinstance(pcs, str):
            pcs = pcs.replace(";", " ").split()
        try:
            table.append(
                Neighbourhood(
                    code=row.get("code"),
                    name=row.get("name"),
                    centroid_lat=row.get("lat", row.get("centroid_lat")),
                    centroid_lon=row.get("lon", row.get("centroid_lon")),
                    pc4=[str(p) for p in pcs] if isinstance(pcs, list | tuple) else pcs,
                )
            )
        except ValidationError as error:
            raise PermanentError(f"invalid neighbourhood row: {error}") from error
    return table


async def replace_table(r: Repository, table: list[Neighbourhood]) -> list[Staged]:
    """Effect: the projection becomes identity's new table."""
    await r.replace_neighbourhoods(table)
    return []


async def table(ctx: ServiceContext, principal: Principal) -> list[Neighbourhood]:
    return await (await ctx.reader(principal.tenant)).neighbourhoods()


async def with_entries(
    ctx: ServiceContext, tenant: str, code: str
) -> tuple[Neighbourhood, list[Entry], FreshnessPolicy]:
    """A neighbourhood, the entries located in its postcodes and the tenant's policy."""
    reader = await ctx.reader(tenant)
    hood = await reader.neighbourhood(code)
    if hood is None:
        raise NotFound(NOT_FOUND)
    stored = await reader.entries_in_pc4s(hood.pc4)
    return hood, [s.entry for s in stored], (await ctx.view(tenant)).policy
