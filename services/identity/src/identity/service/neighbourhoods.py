"""The tenant's neighbourhood table: CSV import (all or nothing) and its event."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.errors import InvalidInput, field_error
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import NeighbourhoodsImported

from identity.adapters import repositories as repo
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

    async def work(db: Db, session: Any) -> tuple[NeighbourhoodTable, list[Envelope[Any]]]:
        await repo.save_neighbourhoods(db, table, ctx.now(), session=session)
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
