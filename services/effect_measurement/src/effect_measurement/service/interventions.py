"""Use case: record an intervention (any person/type/time fact) and update the persona cells.

Interventions come from other services' events (`interventions_in.py`: a completed learning
module, help received or given in the marketplace) and from professionals through the API
(`record_intervention_by`), which needs the resident known here (identity's person events)
and their `share_results` consent for the organisation the intervention is recorded for.

An intervention is kept per person, not per trajectory: the persona fold links it by time to
the windows between the person's measurements of any trajectory (`domain/interventions.py`).
So one recorded for a person without a trajectory yet waits there, shown in their own export;
it counts in the persona loop once it falls between two of their measurements (one before
their first measurement has no measured starting point and counts in no window).
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.consents import SHARE_RESULTS
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.persona import persona_delta
from effect_measurement.service import access
from effect_measurement.service.ports import Db, Repositories, RepositoryFactory, Runtime


async def add_intervention(repos: Repositories, tenant: str, item: InterventionInput) -> bool:
    """Inside a transaction: store `item` and move the persona cells by exactly what it
    changes; False when this intervention id was recorded before."""
    if await repos.interventions.exists(item.intervention_id):
        return False
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
    return True


async def record_intervention(
    runtime: Runtime,
    tenant: str,
    item: InterventionInput,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> bool:
    """True when recorded, False when this intervention id was recorded before."""

    async def work(db: Db, session: Session) -> tuple[bool, list[Envelope[Any]]]:
        return await add_intervention(repositories(db, session, tenant), tenant, item), []

    return await runtime.commit(tenant, work)


async def record_intervention_by(
    runtime: Runtime,
    principal: Principal,
    item: InterventionInput,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> bool:
    """A professional or organisation admin records an intervention of their organisation
    about a resident who is known here and shares results with that organisation (404
    otherwise, whichever is missing); an id of zeros is refused (422)."""
    organisation = access.recording_organisation(principal, item.organisation)
    access.require_real_person_id(item.person_id)
    item = item.model_copy(update={"organisation": organisation})
    tenant = principal.tenant

    async def work(db: Db, session: Session) -> tuple[tuple[bool, bool, bool], list[Envelope[Any]]]:
        # Checked in the transaction that writes (an erasure cannot come between); refused
        # by returning, not raising, so nothing is rolled back.
        repos = repositories(db, session, tenant)
        known = await repos.profiles.get(item.person_id) is not None
        consented = known and await repos.consents.given(
            item.person_id, organisation, SHARE_RESULTS
        )
        if not consented:
            return (known, False, False), []
        return (True, True, await add_intervention(repos, tenant, item)), []

    known, consented, created = await runtime.commit(tenant, work)
    access.require_known_with_consent(known, consented)
    return created
