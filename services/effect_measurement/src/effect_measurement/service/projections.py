"""Projections of other services' facts: coarse profiles, tenant k, instruments.

Each handler applies its event once (`messaging.apply_once`: the inbox claim and the change
in one transaction); an event about a person this service erased is dropped (`person=`).
Consents are the platform's one projection (`wijkkracht_common.consent`, subscribed in
`entrypoints/consumers.py`); erasure has its own module (`erasure.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import (
    PersonProfileUpdated,
    PersonRegistered,
    TenantCreated,
)
from wijkkracht_common.events.questionnaires import InstrumentPublished
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session
from wijkkracht_common.tenancy import PLATFORM_TENANT

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.inputs import PersonProfileInput
from effect_measurement.domain.policy import clamp_k
from effect_measurement.domain.profiles import (
    apply_person_profile_updated,
    apply_person_registered,
)
from effect_measurement.service.ports import Db, Repositories, RepositoryFactory, Runtime

#: A projection's change, inside the transaction of its event's inbox claim.
Change = Callable[[Repositories], Awaitable[None]]


def _profile_input(data: PersonRegistered | PersonProfileUpdated) -> PersonProfileInput:
    # Only the fields the event carried (patch semantics); pc4 is never kept.
    fields = {
        f: getattr(data, f)
        for f in data.model_fields_set
        if f in ("person_id", "neighbourhood_code", "age_band", "household_type")
    }
    return PersonProfileInput(**{"person_id": data.person_id, **fields})


async def _nothing(repos: Repositories) -> None:
    return None


class Projections:
    def __init__(
        self, runtime: Runtime, *, repositories: RepositoryFactory = MotorRepositories
    ) -> None:
        self.runtime = runtime
        self.repositories = repositories

    async def _apply_once(
        self,
        envelope: Envelope[Any],
        delivery: Delivery,
        change: Change,
        tenant: str,
        person: str | None = None,
    ) -> bool:
        async def effect(db: Db, session: Session) -> list[Staged]:
            await change(self.repositories(db, session, tenant))
            return []

        return await apply_once(
            self.runtime, envelope, delivery, effect, database=tenant, person=person
        )

    async def person(
        self,
        envelope: Envelope[PersonRegistered] | Envelope[PersonProfileUpdated],
        delivery: Delivery,
    ) -> bool:
        data = envelope.data
        person = data.person_id
        if isinstance(data, PersonRegistered) and data.kind != "resident":
            return await self._apply_once(envelope, delivery, _nothing, envelope.tenant, person)

        async def change(repos: Repositories) -> None:
            # Ordered by the events' own time per field (domain/profiles.py), not by arrival.
            current = await repos.profiles.get(data.person_id)
            if isinstance(data, PersonRegistered):
                profile = apply_person_registered(_profile_input(data), envelope.time, current)
            else:
                profile = apply_person_profile_updated(current, _profile_input(data), envelope.time)
            await repos.profiles.save(profile, envelope.time)

        return await self._apply_once(envelope, delivery, change, envelope.tenant, person)

    async def tenant_created(self, envelope: Envelope[TenantCreated], delivery: Delivery) -> bool:
        # The platform operator creates tenants; the event may travel on the platform subject.
        platform = envelope.tenant == PLATFORM_TENANT
        tenant = envelope.data.tenant_slug if platform else envelope.tenant
        k = clamp_k(envelope.data.k_anonymity)

        async def change(repos: Repositories) -> None:
            await repos.settings.set_k(k)

        return await self._apply_once(envelope, delivery, change, tenant)

    async def instrument(self, envelope: Envelope[InstrumentPublished], delivery: Delivery) -> bool:
        data = envelope.data

        async def change(repos: Repositories) -> None:
            if data.purpose != "survey":
                await repos.instruments.publish(data.family, data.dimension_codes, data.purpose)

        return await self._apply_once(envelope, delivery, change, envelope.tenant)
