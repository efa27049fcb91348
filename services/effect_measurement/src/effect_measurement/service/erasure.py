"""Use case: erase a person (identity's `person_erasure_requested`).

In one transaction with the inbox claim (`messaging.apply_once`), nothing that names or links
back to the person is left in the service's database:
- their contributions leave every aggregate and persona cell through the domain's erasure
  delta (exactly what was added is subtracted, so no count keeps them; cells hold counts,
  never ids);
- their measurements (with the follow-up marks on them), goals, interventions and coarse
  profile are deleted; trajectories are built from measurements, so none is left;
- the consent projection forgets them (`consent.forget_person`, and the former `consents`
  collection too);
- the access log keeps its legal retention (NEN 7513), unlinked
  (`access_log.anonymise_resident`); where the person worked as staff, the records of what
  they looked at (`anonymise_actor`) and the goals they set on others' trajectories name a
  random `retention_tombstone()` instead;
- the person is remembered as erased (`erasure.remember_erased`), so later events about them
  are dropped: single events by `apply_once(..., person=...)`, responses in flight by the
  ingestion's erased-set check per batch (`ingest_plan.py`);
then `person_data_erased` answers with the counts. The request itself is not dropped for a
person erased before: a repeated request finds nothing left and is answered with zero counts.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.erasure import retention_tombstone
from wijkkracht_common.events.effect_measurement import EffectsPersonDataErased
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.aggregates import erasure_delta
from effect_measurement.domain.persona import persona_delta
from effect_measurement.service.ports import Db, Repositories, RepositoryFactory, Runtime


async def erase_person_data(
    repos: Repositories, tenant: str, person: str
) -> tuple[dict[str, int], list[Envelope[Any]]]:
    """Inside a transaction: the person's data out of every cell, then deleted; returns the
    counts and the `person_data_erased` event."""
    mine = await repos.measurements.of_persons([person])
    await repos.cells.add(erasure_delta(tenant, mine))
    interventions = await repos.interventions.of_persons([person])
    await repos.persona.add(persona_delta(tenant, {person: (mine, [])}, interventions))
    erased = {
        "measurements": await repos.measurements.delete_of_person(person),
        "goals": await repos.goals.delete_of_person(person),
        "interventions": await repos.interventions.delete_of_person(person),
        "consents": await repos.consents.forget(person),
        "profiles": await repos.profiles.delete(person),
    }
    tombstone = retention_tombstone()
    anonymised = {
        "access_log": await repos.access_log.anonymise_resident(person),
        "access_log_as_staff": await repos.access_log.anonymise_actor(person),
        "goals_set_as_staff": await repos.goals.unlink_setter(person, tombstone),
    }
    await repos.erased.remember(person)
    # Ingestion may have read this person's history ahead: the epoch voids what it planned.
    await repos.settings.advance_epoch()
    event = new_event(
        EffectsPersonDataErased(person_id=person, erased=erased, anonymised=anonymised),
        tenant=tenant,
        subject=person,
        actor="effect_measurement",
    )
    return erased, [event]


class Erasure:
    """The consumer of `person_erasure_requested`."""

    def __init__(
        self, runtime: Runtime, *, repositories: RepositoryFactory = MotorRepositories
    ) -> None:
        self.runtime = runtime
        self.repositories = repositories

    async def __call__(
        self, envelope: Envelope[PersonErasureRequested], delivery: Delivery
    ) -> bool:
        tenant, person = envelope.tenant, envelope.data.person_id

        async def effect(db: Db, session: Session) -> list[Staged]:
            _, events = await erase_person_data(
                self.repositories(db, session, tenant), tenant, person
            )
            return list(events)

        # No `person=`: a repeated request is answered again (with zero counts).
        return await apply_once(self.runtime, envelope, delivery, effect)
