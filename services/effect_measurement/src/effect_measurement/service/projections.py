"""Projections of other services' facts: coarse profiles, consents, tenant k, instruments.

Each handler claims the event in the inbox inside the same transaction as its effect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wijkkracht_common import inbox
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import (
    ConsentGranted,
    ConsentRevoked,
    PersonProfileUpdated,
    PersonRegistered,
    TenantCreated,
)
from wijkkracht_common.events.questionnaires import InstrumentPublished
from wijkkracht_common.messaging import Delivery
from wijkkracht_common.storage import Database, Session, Storage
from wijkkracht_common.tenancy import PLATFORM_TENANT

from effect_measurement.adapters.documents import profile_from_document
from effect_measurement.adapters.schema import CONSENTS, INSTRUMENTS, PROFILES, SETTINGS
from effect_measurement.domain.inputs import PersonProfileInput
from effect_measurement.domain.policy import MAXIMUM_K, MINIMUM_K
from effect_measurement.domain.profiles import (
    Profile,
    apply_person_profile_updated,
    apply_person_registered,
)

Db = Database[dict[str, Any]]
PRIVACY = "privacy"


def _profile_input(data: PersonRegistered | PersonProfileUpdated) -> PersonProfileInput:
    # Only the fields the event carried (patch semantics); pc4 is never kept.
    fields = {
        f: getattr(data, f)
        for f in data.model_fields_set
        if f in ("person_id", "neighbourhood_code", "age_band", "household_type")
    }
    return PersonProfileInput(**{"person_id": data.person_id, **fields})


def _profile_doc(profile: Profile, at: datetime) -> dict[str, Any]:
    return {
        "neighbourhood_code": profile.neighbourhood_code,
        "age_band": profile.age_band,
        "household_type": profile.household_type,
        "updated_at": at,
    }


class Projections:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def _claimed(self, tenant: str, delivery: Delivery, event_id: str, effect: Any) -> bool:
        db = await self.storage.tenant_db(tenant)

        async def callback(session: Session) -> bool:
            if not await inbox.claim(db, delivery.durable, event_id, session=session):
                return False
            await effect(db, session)
            return True

        return await self.storage.in_transaction(db, callback)

    async def person(
        self,
        envelope: Envelope[PersonRegistered] | Envelope[PersonProfileUpdated],
        delivery: Delivery,
    ) -> bool:
        data = envelope.data
        if isinstance(data, PersonRegistered) and data.kind != "resident":
            return await self._claimed(envelope.tenant, delivery, envelope.id, _noop)

        async def effect(db: Db, session: Session) -> None:
            doc = await db[PROFILES].find_one({"_id": data.person_id}, session=session)
            current = profile_from_document(doc) if doc else None
            if isinstance(data, PersonRegistered):
                profile = apply_person_registered(_profile_input(data), envelope.time)
            else:
                profile = apply_person_profile_updated(current, _profile_input(data), envelope.time)
            await db[PROFILES].update_one(
                {"_id": data.person_id},
                {"$set": _profile_doc(profile, envelope.time)},
                upsert=True,
                session=session,
            )

        return await self._claimed(envelope.tenant, delivery, envelope.id, effect)

    async def consent(
        self, envelope: Envelope[ConsentGranted] | Envelope[ConsentRevoked], delivery: Delivery
    ) -> bool:
        data = envelope.data
        key = f"{data.person_id}|{data.organisation_slug}|{data.purpose}"

        async def effect(db: Db, session: Session) -> None:
            doc = await db[CONSENTS].find_one({"_id": key}, session=session)
            if doc is not None and doc["at"] > envelope.time:
                return  # an older event arriving late does not undo a newer decision
            await db[CONSENTS].update_one(
                {"_id": key},
                {
                    "$set": {
                        "person_id": data.person_id,
                        "organisation": data.organisation_slug,
                        "purpose": data.purpose,
                        "at": envelope.time,
                        "granted": isinstance(data, ConsentGranted),
                    }
                },
                upsert=True,
                session=session,
            )

        return await self._claimed(envelope.tenant, delivery, envelope.id, effect)

    async def tenant_created(self, envelope: Envelope[TenantCreated], delivery: Delivery) -> bool:
        # The platform operator creates tenants; the event may travel on the platform subject.
        platform = envelope.tenant == PLATFORM_TENANT
        tenant = envelope.data.tenant_slug if platform else envelope.tenant
        k = min(max(envelope.data.k_anonymity, MINIMUM_K), MAXIMUM_K)  # never below the floor

        async def effect(db: Db, session: Session) -> None:
            await db[SETTINGS].update_one(
                {"_id": PRIVACY}, {"$set": {"k": k}}, upsert=True, session=session
            )

        return await self._claimed(tenant, delivery, envelope.id, effect)

    async def instrument(self, envelope: Envelope[InstrumentPublished], delivery: Delivery) -> bool:
        data = envelope.data

        async def effect(db: Db, session: Session) -> None:
            if data.purpose != "survey":
                await db[INSTRUMENTS].update_one(
                    {"_id": data.family},
                    {
                        "$addToSet": {"dimensions": {"$each": data.dimension_codes}},
                        "$set": {"purpose": data.purpose},
                    },
                    upsert=True,
                    session=session,
                )

        return await self._claimed(envelope.tenant, delivery, envelope.id, effect)


async def _noop(db: Db, session: Session) -> None:
    return None
