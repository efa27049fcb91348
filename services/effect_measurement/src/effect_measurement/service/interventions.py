"""Use case: record an intervention (any person/type/time fact) and update the persona cells.

No other service emits interventions yet; an internal API records them. When events such as
`learning_path_completed` exist, a consumer maps each to an `InterventionInput` and calls this.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session

from effect_measurement.adapters.documents import persona_upserts
from effect_measurement.adapters.schema import INTERVENTIONS, PERSONA
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.service.epoch import advance_epoch
from effect_measurement.service.ingest import load_history
from effect_measurement.service.persona import load_interventions, persona_delta


async def record_intervention(
    runtime: ServiceRuntime, tenant: str, item: InterventionInput
) -> bool:
    """True when recorded, False when this intervention id was recorded before."""

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[bool, list[Envelope[Any]]]:
        if await db[INTERVENTIONS].find_one({"_id": item.intervention_id}, session=session):
            return False, []
        person = item.person_id
        history, _ = await load_history(db, [person], session)
        before = await load_interventions(db, [person], session)
        after = {person: [*before.get(person, []), item]}
        mine = history.get(person, [])
        delta = persona_delta(tenant, {person: (mine, mine)}, before, after)
        await db[INTERVENTIONS].insert_one(
            {
                "_id": item.intervention_id,
                "person_id": person,
                "type": item.type,
                "occurred_at": item.occurred_at,
                "organisation": item.organisation,
            },
            session=session,
        )
        if delta:
            await db[PERSONA].bulk_write(persona_upserts(delta), ordered=False, session=session)
        # Ingestion may have read this person's interventions for a plan not yet written:
        # the epoch voids it (the persona cells must equal their sum over stored data).
        await advance_epoch(db, session)
        return True, []

    return await runtime.commit(tenant, work)
