"""Repositories of the effect measurement service: where its database is read and written.

`MotorRepositories(db, session, tenant)` implements the service layer's ports
(`service/ports.py`) on one tenant database `wk_effect_measurement_<tenant>` through
`wijkkracht_common.storage` (motor): every write passes `session`, the transaction of the
surrounding `runtime.commit` (None: reads outside any transaction). They take and return domain
objects; documents are mapped in `documents.py`, collections and indexes are in `schema.py`.
Two invariants live here: every cell change writes a new projection version in the same
transaction (the report cache's key, `cell_cache.py`), and `write_ingestion` stores a batch in
as few round trips as possible (the hot path).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_args

from pymongo import UpdateOne
from wijkkracht_common import access_log, consent, erasure
from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.events.identity import ConsentPurpose
from wijkkracht_common.storage import Database, Session, aborted_transactions, stored_datetime

from effect_measurement.adapters.cell_cache import CELL_CACHE
from effect_measurement.adapters.documents import (
    cell_from_document,
    cell_upserts,
    goal_document,
    goal_from_document,
    intervention_document,
    intervention_from_document,
    legacy_consent_states,
    measurement_document,
    persona_from_document,
    persona_upserts,
    profile_fields,
    profile_from_document,
    stored_from_document,
    waiting_from_document,
)
from effect_measurement.adapters.schema import (
    CELLS,
    EPOCH,
    GOALS,
    INSTRUMENTS,
    INTERVENTIONS,
    LEGACY_CONSENTS,
    MEASUREMENTS,
    PERSONA,
    PRIVACY,
    PROFILES,
    PROJECTION_VERSION,
    SETTINGS,
)
from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.followups import WaitingMeasurement
from effect_measurement.domain.inputs import InstrumentKind, InterventionInput
from effect_measurement.domain.keys import CellKey, PersonaKey
from effect_measurement.domain.periods import Period, nested_periods
from effect_measurement.domain.policy import (
    DEFAULT_K,
    DEFAULT_ROUNDING_BASE,
    PrivacyPolicy,
    PrivacySettings,
)
from effect_measurement.domain.profiles import Profile
from effect_measurement.domain.trajectories import Goal, StoredMeasurement
from effect_measurement.service.ports import IngestionWrites

Db = Database[dict[str, Any]]
SERVICE = "effect_measurement"  # in access-log records


def _epoch_key(partition: str | None) -> str:
    return EPOCH if partition is None else f"{EPOCH}:{partition}"


def _epoch_advance(partition: str | None = None) -> UpdateOne:
    return UpdateOne({"_id": _epoch_key(partition)}, {"$inc": {"epoch": 1}}, upsert=True)


def _projection_touch() -> UpdateOne:
    # A fresh unique token, not a counter: a dropped and recreated database never repeats one.
    return UpdateOne(
        {"_id": PROJECTION_VERSION}, {"$set": {"version": new_event_id()}}, upsert=True
    )


class _Repository:
    __slots__ = ("db", "session", "tenant")

    def __init__(self, db: Db, session: Session | None, tenant: str) -> None:
        self.db, self.session, self.tenant = db, session, tenant


class MotorMeasurements(_Repository):
    __slots__ = ()

    async def of_persons(self, persons: Sequence[str]) -> list[StoredMeasurement]:
        if not persons:
            return []
        # On nx-27017 `$in` on `person_id` scans the collection (docs/developer-guide.md);
        # on MongoDB it uses the index.
        docs = (
            await self.db[MEASUREMENTS]
            .find({"person_id": {"$in": list(persons)}}, session=self.session)
            .to_list(None)
        )
        return [stored_from_document(doc) for doc in docs]

    async def stored_ids(self, ids: Sequence[str]) -> set[str]:
        found = self.db[MEASUREMENTS].find(
            {"_id": {"$in": list(ids)}}, projection={"_id": 1}, session=self.session
        )
        return {doc["_id"] async for doc in found}

    async def of_person(self, person: str) -> list[tuple[str, StoredMeasurement]]:
        found = self.db[MEASUREMENTS].find({"person_id": person}, session=self.session)
        return [(doc["trajectory_id"], stored_from_document(doc)) async for doc in found]

    async def waiting_for_followup(
        self, submitted_before: datetime, limit: int
    ) -> list[WaitingMeasurement]:
        docs = (
            await self.db[MEASUREMENTS]
            .find(
                {
                    "followup_pending": True,
                    "kind": InstrumentKind.MEASUREMENT.value,
                    "submitted_at": {"$lte": submitted_before},
                },
                session=self.session,
            )
            .limit(limit)
            .to_list(None)
        )
        return [waiting_from_document(doc) for doc in docs]

    async def latest_per_trajectory(self, persons: Sequence[str]) -> dict[str, datetime]:
        latest: dict[str, datetime] = {}
        if not persons:
            return latest
        async for doc in self.db[MEASUREMENTS].find(
            {"person_id": {"$in": list(persons)}},
            projection={"trajectory_id": 1, "submitted_at": 1},
            session=self.session,
        ):
            trajectory, at = doc.get("trajectory_id"), stored_datetime(doc["submitted_at"])
            if trajectory and at and (trajectory not in latest or at > latest[trajectory]):
                latest[trajectory] = at
        return latest

    async def clear_followup_marks(self, ids: Collection[str]) -> None:
        await self.db[MEASUREMENTS].update_many(
            {"_id": {"$in": sorted(ids)}, "followup_pending": True},
            {"$set": {"followup_pending": False}},
            session=self.session,
        )

    async def mark_followup_announced(self, measurement_id: str, sequence: int) -> bool:
        result = await self.db[MEASUREMENTS].update_one(
            {"_id": measurement_id, "followup_pending": True},
            {"$set": {"followup_pending": False, "followup_announced": sequence}},
            session=self.session,
        )
        return bool(result.modified_count)

    async def delete_of_person(self, person: str) -> int:
        result = await self.db[MEASUREMENTS].delete_many(
            {"person_id": person}, session=self.session
        )
        return int(result.deleted_count)


class MotorCells(_Repository):
    __slots__ = ()

    async def read(
        self, family: str, period: Period, version: str | None = None
    ) -> dict[CellKey, Accumulator]:
        key = (self.db.name, family, period.label)
        if version is not None and (cached := CELL_CACHE.get(key, version)) is not None:
            return cached
        aborts = aborted_transactions(self.db.name)
        labels = [p.label for p in (period, *nested_periods(period))]
        cells: dict[CellKey, Accumulator] = {}
        async for doc in self.db[CELLS].find(
            {"family": family, "period": {"$in": labels}}, session=self.session
        ):
            parsed = cell_from_document(self.tenant, doc)
            if parsed is not None:
                cells[parsed[0]] = parsed[1]
        if version is not None:
            CELL_CACHE.put(key, version, aborts, cells)
        return cells

    async def add(self, deltas: Mapping[CellKey, Accumulator]) -> None:
        if not deltas:
            return
        await self.db[CELLS].bulk_write(cell_upserts(deltas), ordered=False, session=self.session)
        await self.db[SETTINGS].bulk_write([_projection_touch()], session=self.session)


class MotorPersonaCells(_Repository):
    __slots__ = ()

    async def read(
        self, family: str, year: Period, dimension: str, attribute: str
    ) -> dict[PersonaKey, Accumulator]:
        cells: dict[PersonaKey, Accumulator] = {}
        async for doc in self.db[PERSONA].find(
            {"family": family, "year": year.label, "dimension": dimension, "attribute": attribute},
            session=self.session,
        ):
            parsed = persona_from_document(self.tenant, doc)
            if parsed is not None:
                cells[parsed[0]] = parsed[1]
        return cells

    async def add(self, deltas: Mapping[PersonaKey, Accumulator]) -> None:
        if deltas:
            await self.db[PERSONA].bulk_write(
                persona_upserts(deltas), ordered=False, session=self.session
            )


class MotorProfiles(_Repository):
    __slots__ = ()

    async def get(self, person: str) -> Profile | None:
        doc = await self.db[PROFILES].find_one({"_id": person}, session=self.session)
        return None if doc is None else profile_from_document(doc)

    async def of_persons(self, persons: Sequence[str]) -> dict[str, Profile]:
        found = self.db[PROFILES].find({"_id": {"$in": list(persons)}}, session=self.session)
        return {doc["_id"]: profile_from_document(doc) async for doc in found}

    async def save(self, profile: Profile, at: datetime) -> None:
        await self.db[PROFILES].update_one(
            {"_id": profile.person_id},
            {"$set": profile_fields(profile, at)},
            upsert=True,
            session=self.session,
        )

    async def delete(self, person: str) -> int:
        result = await self.db[PROFILES].delete_many({"_id": person}, session=self.session)
        return int(result.deleted_count)


class MotorConsents(_Repository):
    """The platform's consent projection (`wijkkracht_common.consent`), read here; the
    service's former `consents` collection is moved into it (`adopt_legacy`)."""

    __slots__ = ()

    async def organisations_sharing(self, person: str, purpose: ConsentPurpose) -> list[str]:
        return await consent.organisations_with_consent(self.db, person, purpose)

    async def given(self, person: str, organisation: str, purpose: ConsentPurpose) -> bool:
        state = await consent.consent_state(
            self.db, person, organisation, purpose, session=self.session
        )
        return state is not None and state.granted

    async def sharing(self, person: str) -> dict[str, list[str]]:
        purposes: tuple[ConsentPurpose, ...] = get_args(ConsentPurpose)
        found = {p: await self.organisations_sharing(person, p) for p in purposes}
        return {purpose: orgs for purpose, orgs in found.items() if orgs}

    async def forget(self, person: str) -> int:
        forgotten = await consent.forget_person(self.db, person, session=self.session)
        legacy = await self.db[LEGACY_CONSENTS].delete_many(
            {"person_id": person}, session=self.session
        )
        return forgotten + int(legacy.deleted_count)

    async def has_legacy(self) -> bool:
        found = await self.db[LEGACY_CONSENTS].find_one({}, session=self.session)
        return found is not None

    async def adopt_legacy(self, tenant: str) -> int:
        """Move the former projection's states into the platform's (version 0, their own
        time; a newer state there wins; an erased person's are only deleted)."""
        docs = await self.db[LEGACY_CONSENTS].find({}, session=self.session).to_list(None)
        if not docs:
            return 0
        erased = await MotorErasedPersons(self.db, self.session, tenant).among(
            sorted({str(d["person_id"]) for d in docs})
        )
        for state in legacy_consent_states(docs):
            if state.person_id not in erased:
                await consent.apply_change(self.db, state, session=self.session)
        await self.db[LEGACY_CONSENTS].delete_many(
            {"_id": {"$in": [d["_id"] for d in docs]}}, session=self.session
        )
        return len(docs)


class MotorErasedPersons(_Repository):
    __slots__ = ()

    async def exist(self) -> bool:
        return await erasure.any_erased(self.db, session=self.session)

    async def among(self, persons: Sequence[str]) -> set[str]:
        return await erasure.erased_among(self.db, self.tenant, persons, session=self.session)

    async def remember(self, person: str) -> None:
        await erasure.remember_erased(self.db, self.tenant, person, session=self.session)


class MotorGoals(_Repository):
    __slots__ = ()

    async def of_person(self, person: str) -> dict[str, list[Goal]]:
        goals: dict[str, list[Goal]] = defaultdict(list)
        async for doc in self.db[GOALS].find({"person_id": person}, session=self.session):
            goals[doc["trajectory_id"]].append(goal_from_document(doc))
        return goals

    async def add(self, person: str, trajectory: str, goal: Goal) -> None:
        await self.db[GOALS].insert_one(
            goal_document(person, trajectory, goal, new_event_id()), session=self.session
        )

    async def delete_of_person(self, person: str) -> int:
        result = await self.db[GOALS].delete_many({"person_id": person}, session=self.session)
        return int(result.deleted_count)

    async def unlink_setter(self, person: str, tombstone: str) -> int:
        result = await self.db[GOALS].update_many(
            {"set_by": person}, {"$set": {"set_by": tombstone}}, session=self.session
        )
        return int(result.modified_count)


class MotorInterventions(_Repository):
    __slots__ = ()

    async def exists(self, intervention_id: str) -> bool:
        found = await self.db[INTERVENTIONS].find_one(
            {"_id": intervention_id}, projection={"_id": 1}, session=self.session
        )
        return found is not None

    async def of_persons(self, persons: Sequence[str]) -> dict[str, list[InterventionInput]]:
        result: dict[str, list[InterventionInput]] = defaultdict(list)
        # One person (a trajectory view, an intervention, an erasure, an export): equality,
        # which the index serves; `$in` on nx-27017 scans the whole collection.
        wanted = persons[0] if len(persons) == 1 else {"$in": list(persons)}
        async for doc in self.db[INTERVENTIONS].find({"person_id": wanted}, session=self.session):
            result[doc["person_id"]].append(intervention_from_document(doc))
        return result

    async def add(self, item: InterventionInput) -> None:
        await self.db[INTERVENTIONS].insert_one(intervention_document(item), session=self.session)

    async def delete_of_person(self, person: str) -> int:
        result = await self.db[INTERVENTIONS].delete_many(
            {"person_id": person}, session=self.session
        )
        return int(result.deleted_count)


class MotorInstruments(_Repository):
    __slots__ = ()

    async def published(self) -> dict[str, frozenset[str]]:
        return {
            doc["_id"]: frozenset(doc.get("dimensions", []))
            async for doc in self.db[INSTRUMENTS].find({}, session=self.session)
        }

    async def publish(self, family: str, dimensions: Sequence[str], purpose: str) -> None:
        await self.db[INSTRUMENTS].update_one(
            {"_id": family},
            {
                "$addToSet": {"dimensions": {"$each": list(dimensions)}},
                "$set": {"purpose": purpose},
            },
            upsert=True,
            session=self.session,
        )


class MotorTenantSettings(_Repository):
    __slots__ = ()

    async def privacy(self) -> tuple[PrivacySettings, str]:
        docs = {
            doc["_id"]: doc
            async for doc in self.db[SETTINGS].find(
                {"_id": {"$in": [PRIVACY, PROJECTION_VERSION]}}, session=self.session
            )
        }
        privacy = docs.get(PRIVACY, {})
        version = str(docs.get(PROJECTION_VERSION, {}).get("version", ""))
        policy = PrivacyPolicy(
            int(privacy.get("k", DEFAULT_K)),
            int(privacy.get("rounding_base", DEFAULT_ROUNDING_BASE)),
        )
        settings = PrivacySettings(policy, frozenset(privacy.get("named", [])))
        return settings, version

    async def set_k(self, k: int) -> None:
        await self.db[SETTINGS].update_one(
            {"_id": PRIVACY}, {"$set": {"k": k}}, upsert=True, session=self.session
        )

    async def set_named(self, organisation: str, named: bool) -> None:
        change = "$addToSet" if named else "$pull"
        await self.db[SETTINGS].update_one(
            {"_id": PRIVACY}, {change: {"named": organisation}}, upsert=True, session=self.session
        )

    async def epoch(self, partition: str | None = None) -> int:
        keys = list(dict.fromkeys((EPOCH, _epoch_key(partition))))
        docs = self.db[SETTINGS].find({"_id": {"$in": keys}}, session=self.session)
        return sum([int(doc["epoch"]) async for doc in docs])

    async def advance_epoch(self) -> None:
        await self.db[SETTINGS].bulk_write([_epoch_advance()], session=self.session)


class MotorAccessLog(_Repository):
    __slots__ = ()

    async def record(
        self,
        principal: Principal,
        *,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str,
    ) -> None:
        await access_log.record_access(
            self.db,
            service=SERVICE,
            principal=principal,
            resident=resident,
            action=action,
            resource=resource,
            reason=reason,
            on_behalf_of=on_behalf_of,
            session=self.session,
        )

    async def anonymise_resident(self, person: str) -> int:
        return await access_log.anonymise_resident(self.db, person, session=self.session)

    async def anonymise_actor(self, person: str) -> int:
        return await access_log.anonymise_actor(self.db, person, session=self.session)


@dataclass(slots=True)
class EncodedIngestion:
    """An ingestion batch's writes as documents and bulk operations, encoded while the
    batch is planned (ahead of its transaction, during the previous batch's writes)."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    cell_ops: list[UpdateOne] = field(default_factory=list)
    persona_ops: list[UpdateOne] = field(default_factory=list)

    @property
    def measurements(self) -> int:
        return len(self.documents)

    def add_measurement(
        self,
        stored: StoredMeasurement,
        *,
        trajectory: str,
        sequence: int,
        event_id: str,
        followup_pending: bool,
    ) -> None:
        self.documents.append(
            measurement_document(
                stored,
                trajectory=trajectory,
                sequence=sequence,
                event_id=event_id,
                pending=followup_pending,
            )
        )

    def add_cells(self, deltas: Mapping[CellKey, Accumulator]) -> None:
        self.cell_ops += cell_upserts(deltas)

    def add_persona(self, deltas: Mapping[PersonaKey, Accumulator]) -> None:
        self.persona_ops += persona_upserts(deltas)


class MotorRepositories:
    """The repositories of one tenant database (`service.ports.Repositories`)."""

    def __init__(self, db: Db, session: Session | None, tenant: str) -> None:
        self.db, self.session = db, session
        self.measurements = MotorMeasurements(db, session, tenant)
        self.cells = MotorCells(db, session, tenant)
        self.persona = MotorPersonaCells(db, session, tenant)
        self.profiles = MotorProfiles(db, session, tenant)
        self.consents = MotorConsents(db, session, tenant)
        self.erased = MotorErasedPersons(db, session, tenant)
        self.goals = MotorGoals(db, session, tenant)
        self.interventions = MotorInterventions(db, session, tenant)
        self.instruments = MotorInstruments(db, session, tenant)
        self.settings = MotorTenantSettings(db, session, tenant)
        self.access_log = MotorAccessLog(db, session, tenant)

    def ingestion_writes(self) -> EncodedIngestion:
        return EncodedIngestion()

    async def write_ingestion(self, writes: IngestionWrites, partition: str | None = None) -> int:
        if not isinstance(writes, EncodedIngestion):
            raise TypeError("writes not prepared by these repositories")
        if not writes.documents:
            return 0
        db, session = self.db, self.session
        await db[MEASUREMENTS].insert_many(writes.documents, ordered=False, session=session)
        if writes.cell_ops:
            await db[CELLS].bulk_write(writes.cell_ops, ordered=False, session=session)
        if writes.persona_ops:
            await db[PERSONA].bulk_write(writes.persona_ops, ordered=False, session=session)
        # The person-data epoch, and the projection version when cells changed: one round trip.
        settings = [_epoch_advance(partition), *([_projection_touch()] if writes.cell_ops else [])]
        await db[SETTINGS].bulk_write(settings, session=session)
        return len(writes.documents)

    def rolled_back(self) -> int:
        return aborted_transactions(self.db.name)
