"""Use case: record an intervention (any person/type/time fact) and update the persona cells.

No other service emits interventions yet; an internal API records them. When events such as
`learning_path_completed` exist, a consumer maps each to an `InterventionInput` and calls
`record_intervention`.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.persona import persona_delta
from effect_measurement.service import access
from effect_measurement.service.ports import Db, RepositoryFactory, Runtime


async def record_intervention(
    runtime: Runtime,
    tenant: str,
    item: InterventionInput,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> bool:
    """True when recorded, False when this intervention id was recorded before."""

    async def work(db: Db, session: Session) -> tuple[bool, list[Envelope[Any]]]:
        repos = repositories(db, session, tenant)
        if await repos.interventions.exists(item.intervention_id):
            return False, []
        person = item.person_id
        mine = await repos.measurements.of_persons([person])
        before = await repos.interventions.of_persons([person])
        after = {person: [*before.get(person, []), item]}
        delta = persona_delta(tenant, {person: (mine, mine)}, before, after)
        await repos.interventions.add(item)
        await repos.persona.add(delta)
        # Ingestion may have read this person's interventions for a plan not yet written:
        # the epoch voids it (the persona cells must equal their sum over stored data).
        await repos.settings.advance_epoch()
        return True, []

    return await runtime.commit(tenant, work)


async def record_intervention_by(
    runtime: Runtime,
    principal: Principal,
    item: InterventionInput,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> bool:
    """A professional or organisation admin records an intervention of their organisation."""
    access.require_member(principal, item.organisation)
    return await record_intervention(runtime, principal.tenant, item, repositories=repositories)
