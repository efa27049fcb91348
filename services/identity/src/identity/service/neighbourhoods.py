"""The tenant's neighbourhood table: CSV import (all or nothing) and its event."""

from __future__ import annotations

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, field_error
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import NeighbourhoodsImported
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.domain.neighbourhoods import (
    NeighbourhoodCsvError,
    NeighbourhoodTable,
    parse_neighbourhood_csv,
)
from identity.service.context import Db, Identity


async def import_neighbourhoods(
    ctx: Identity, tenant: str, content: str, *, actor: str
) -> NeighbourhoodTable:
    """People keep their PC4; their derived code is recomputed on their next profile change.
    Other services keep their own projection from `neighbourhoods_imported`."""
    try:
        table = parse_neighbourhood_csv(content)
    except NeighbourhoodCsvError as error:
        raise InvalidInput(
            str(error.text),
            errors=[field_error(f"line {e.line}", e.text.en) for e in error.errors],
        ) from error

    async def work(db: Db, session: Session) -> tuple[NeighbourhoodTable, list[Staged]]:
        await ctx.within(db, session).neighbourhoods.save(table, ctx.now())
        event = new_event(
            NeighbourhoodsImported(
                neighbourhoods=[n.model_dump(mode="json") for n in table.neighbourhoods]
            ),
            tenant=tenant,
            subject=f"{tenant}/neighbourhoods",
            actor=actor,
        )
        return table, [event]

    return await ctx.runtime.commit(tenant, work)


async def table_of(ctx: Identity, principal: Principal) -> NeighbourhoodTable:
    return await (await ctx.tenant(principal.tenant)).neighbourhoods.get()
