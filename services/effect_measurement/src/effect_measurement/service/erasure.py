"""Use case: erase a person (identity's `person_erasure_requested`).

Their contributions leave every aggregate and persona cell through the domain's erasure
delta (exactly what was added is subtracted), their records are deleted, and
`person_data_erased` (counts only) is staged, all in one transaction with the inbox claim.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common import inbox
from wijkkracht_common.events.effect_measurement import EffectsPersonDataErased
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.messaging import Delivery
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session

from effect_measurement.adapters.documents import cell_upserts, persona_upserts
from effect_measurement.adapters.schema import (
    CELLS,
    CONSENTS,
    GOALS,
    INTERVENTIONS,
    MEASUREMENTS,
    PERSONA,
    PROFILES,
)
from effect_measurement.domain.aggregates import erasure_delta
from effect_measurement.service.epoch import advance_epoch
from effect_measurement.service.ingest import load_history
from effect_measurement.service.persona import load_interventions, persona_delta
from effect_measurement.service.reports import touch_projection

Db = Database[dict[str, Any]]


async def erase_person(
    db: Db, session: Session, tenant: str, person: str
) -> tuple[dict[str, int], list[Envelope[Any]]]:
    history, _ = await load_history(db, [person], session)
    mine = history.get(person, [])
    cells = erasure_delta(tenant, mine)
    if cells:
        await db[CELLS].bulk_write(cell_upserts(cells), ordered=False, session=session)
        await touch_projection(db, session)
    interventions = await load_interventions(db, [person], session)
    persona = persona_delta(tenant, {person: (mine, [])}, interventions)
    if persona:
        await db[PERSONA].bulk_write(persona_upserts(persona), ordered=False, session=session)
    erased: dict[str, int] = {}
    for name, collection, query in (
        ("measurements", MEASUREMENTS, {"person_id": person}),
        ("goals", GOALS, {"person_id": person}),
        ("interventions", INTERVENTIONS, {"person_id": person}),
        ("consents", CONSENTS, {"person_id": person}),
        ("profiles", PROFILES, {"_id": person}),
    ):
        result = await db[collection].delete_many(query, session=session)
        erased[name] = result.deleted_count
    await advance_epoch(db, session)
    event = new_event(
        EffectsPersonDataErased(person_id=person, erased=erased),
        tenant=tenant,
        subject=person,
        actor="effect_measurement",
    )
    return erased, [event]


class Erasure:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    async def __call__(
        self, envelope: Envelope[PersonErasureRequested], delivery: Delivery
    ) -> bool:
        tenant, person = envelope.tenant, envelope.data.person_id

        async def work(db: Db, session: Session) -> tuple[bool, list[Envelope[Any]]]:
            if not await inbox.claim(db, delivery.durable, envelope.id, session=session):
                return False, []
            _, events = await erase_person(db, session, tenant, person)
            return True, events

        return await self.runtime.commit(tenant, work)
