"""In-memory fakes of the service's ports (`service/ports.py`): the repositories and the
runtime's `commit`, so the use cases run without a database (model: cosmicpython's
`tests/unit/test_handlers.py`).

`FakeRuntime.commit` runs the work on a copy-on-failure state (an exception restores what
the tenant had before, like a rolled-back transaction) and keeps the events it staged.
`FakeDb` stands in for a database only where the shared library needs one: the inbox claims
of `messaging.apply_once`.
"""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from effect_measurement.domain.accumulator import Accumulator, apply_deltas
from effect_measurement.domain.followups import WaitingMeasurement
from effect_measurement.domain.inputs import InstrumentKind, InterventionInput
from effect_measurement.domain.keys import CellKey, PersonaKey
from effect_measurement.domain.periods import Period, nested_periods
from effect_measurement.domain.policy import PrivacyPolicy, PrivacySettings
from effect_measurement.domain.profiles import Profile
from effect_measurement.domain.trajectories import Goal, StoredMeasurement
from pymongo.errors import DuplicateKeyError
from wijkkracht_common.auth import Principal
from wijkkracht_common.erasure import ERASED_PERSONS, person_tombstone
from wijkkracht_common.inbox import INBOX


@dataclass
class Stored:
    """A stored measurement with the bookkeeping ingestion and the scheduler keep on it."""

    measurement: StoredMeasurement
    trajectory: str
    sequence: int
    event_id: str
    followup_pending: bool
    followup_announced: int | None = None


@dataclass
class TenantState:
    measurements: dict[str, Stored] = field(default_factory=dict)
    cells: dict[CellKey, Accumulator] = field(default_factory=dict)
    projection_version: int = 0
    persona: dict[PersonaKey, Accumulator] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    #: The platform's consent projection as the service reads it: granted or not.
    consents: dict[tuple[str, str, str], bool] = field(default_factory=dict)
    legacy_consents: list[tuple[str, str, str, bool]] = field(default_factory=list)
    erased: set[str] = field(default_factory=set)
    goals: list[tuple[str, str, Goal]] = field(default_factory=list)
    interventions: dict[str, InterventionInput] = field(default_factory=dict)
    instruments: dict[str, set[str]] = field(default_factory=dict)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    epoch: int = 0
    partition_epochs: dict[str, int] = field(default_factory=dict)
    access_log: list[dict[str, str]] = field(default_factory=list)
    #: The organisation each access_log entry was on behalf of (same order).
    access_on_behalf_of: list[str] = field(default_factory=list)
    inbox: set[str] = field(default_factory=set)


class _Part:
    def __init__(self, state: TenantState, tenant: str) -> None:
        self.state, self.tenant = state, tenant


class FakeMeasurements(_Part):
    async def of_persons(self, persons: Sequence[str]) -> list[StoredMeasurement]:
        wanted = set(persons)
        return [
            s.measurement
            for s in self.state.measurements.values()
            if s.measurement.measurement.person_id in wanted
        ]

    async def stored_ids(self, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if i in self.state.measurements}

    async def of_person(self, person: str) -> list[tuple[str, StoredMeasurement]]:
        return [
            (s.trajectory, s.measurement)
            for s in self.state.measurements.values()
            if s.measurement.measurement.person_id == person
        ]

    async def waiting_for_followup(
        self, submitted_before: datetime, limit: int
    ) -> list[WaitingMeasurement]:
        waiting = []
        for s in self.state.measurements.values():
            m = s.measurement.measurement
            if (
                s.followup_pending
                and m.kind is InstrumentKind.MEASUREMENT
                and m.submitted_at <= submitted_before
            ):
                waiting.append(
                    WaitingMeasurement(
                        m.response_id,
                        s.trajectory,
                        m.person_id or "",
                        m.organisation,
                        m.instrument_id,
                        m.family,
                        s.sequence,
                        m.submitted_at,
                    )
                )
        return waiting[:limit]

    async def latest_per_trajectory(self, persons: Sequence[str]) -> dict[str, datetime]:
        latest: dict[str, datetime] = {}
        for s in self.state.measurements.values():
            m = s.measurement.measurement
            if m.person_id in persons and s.trajectory:
                latest[s.trajectory] = max(latest.get(s.trajectory, m.submitted_at), m.submitted_at)
        return latest

    async def clear_followup_marks(self, ids: Collection[str]) -> None:
        for i in ids:
            self.state.measurements[i].followup_pending = False

    async def mark_followup_announced(self, measurement_id: str, sequence: int) -> bool:
        stored = self.state.measurements[measurement_id]
        if not stored.followup_pending:
            return False
        stored.followup_pending, stored.followup_announced = False, sequence
        return True

    async def delete_of_person(self, person: str) -> int:
        mine = [
            i
            for i, s in self.state.measurements.items()
            if s.measurement.measurement.person_id == person
        ]
        for i in mine:
            del self.state.measurements[i]
        return len(mine)


class FakeCells(_Part):
    async def read(
        self, family: str, period: Period, version: str | None = None
    ) -> dict[CellKey, Accumulator]:
        periods = {period, *nested_periods(period)}
        return {
            k: v for k, v in self.state.cells.items() if k.family == family and k.period in periods
        }

    async def add(self, deltas: Mapping[CellKey, Accumulator]) -> None:
        if deltas:
            self.state.cells = apply_deltas(self.state.cells, deltas)
            self.state.projection_version += 1


class FakePersonaCells(_Part):
    async def read(
        self, family: str, year: Period, dimension: str, attribute: str
    ) -> dict[PersonaKey, Accumulator]:
        return {
            k: v
            for k, v in self.state.persona.items()
            if (k.family, k.year, k.dimension, k.attribute) == (family, year, dimension, attribute)
        }

    async def add(self, deltas: Mapping[PersonaKey, Accumulator]) -> None:
        self.state.persona = apply_deltas(self.state.persona, deltas)


class FakeProfiles(_Part):
    async def get(self, person: str) -> Profile | None:
        return self.state.profiles.get(person)

    async def of_persons(self, persons: Sequence[str]) -> dict[str, Profile]:
        return {p: self.state.profiles[p] for p in persons if p in self.state.profiles}

    async def save(self, profile: Profile, at: datetime) -> None:
        self.state.profiles[profile.person_id] = profile

    async def delete(self, person: str) -> int:
        return 1 if self.state.profiles.pop(person, None) else 0


class FakeConsents(_Part):
    async def organisations_sharing(self, person: str, purpose: str) -> list[str]:
        return sorted(
            org
            for (p, org, pur), granted in self.state.consents.items()
            if (p, pur) == (person, purpose) and granted
        )

    async def given(self, person: str, organisation: str, purpose: str) -> bool:
        return self.state.consents.get((person, organisation, purpose), False)

    async def sharing(self, person: str) -> dict[str, list[str]]:
        result: dict[str, list[str]] = defaultdict(list)
        for (p, org, purpose), granted in sorted(self.state.consents.items()):
            if p == person and granted:
                result[purpose].append(org)
        return dict(result)

    async def forget(self, person: str) -> int:
        mine = [k for k in self.state.consents if k[0] == person]
        for k in mine:
            del self.state.consents[k]
        legacy = [c for c in self.state.legacy_consents if c[0] == person]
        self.state.legacy_consents = [c for c in self.state.legacy_consents if c[0] != person]
        return len(mine) + len(legacy)

    async def has_legacy(self) -> bool:
        return bool(self.state.legacy_consents)

    async def adopt_legacy(self, tenant: str) -> int:
        moved = self.state.legacy_consents
        for person, org, purpose, granted in moved:
            if person not in self.state.erased:
                self.state.consents.setdefault((person, org, purpose), granted)
        self.state.legacy_consents = []
        return len(moved)


class FakeErasedPersons(_Part):
    async def exist(self) -> bool:
        return bool(self.state.erased)

    async def among(self, persons: Sequence[str]) -> set[str]:
        return {p for p in persons if p in self.state.erased}

    async def remember(self, person: str) -> None:
        self.state.erased.add(person)


class FakeGoals(_Part):
    async def of_person(self, person: str) -> dict[str, list[Goal]]:
        goals: dict[str, list[Goal]] = defaultdict(list)
        for owner, trajectory, goal in self.state.goals:
            if owner == person:
                goals[trajectory].append(goal)
        return goals

    async def add(self, person: str, trajectory: str, goal: Goal) -> None:
        self.state.goals.append((person, trajectory, goal))

    async def delete_of_person(self, person: str) -> int:
        kept = [g for g in self.state.goals if g[0] != person]
        erased, self.state.goals = len(self.state.goals) - len(kept), kept
        return erased

    async def unlink_setter(self, person: str, tombstone: str) -> int:
        changed = 0
        for n, (owner, trajectory, goal) in enumerate(self.state.goals):
            if goal.set_by == person:
                self.state.goals[n] = (owner, trajectory, replace(goal, set_by=tombstone))
                changed += 1
        return changed


class FakeInterventions(_Part):
    async def exists(self, intervention_id: str) -> bool:
        return intervention_id in self.state.interventions

    async def of_persons(self, persons: Sequence[str]) -> dict[str, list[InterventionInput]]:
        result: dict[str, list[InterventionInput]] = defaultdict(list)
        for item in self.state.interventions.values():
            if item.person_id in persons:
                result[item.person_id].append(item)
        return result

    async def add(self, item: InterventionInput) -> None:
        self.state.interventions[item.intervention_id] = item

    async def delete_of_person(self, person: str) -> int:
        mine = [i for i, item in self.state.interventions.items() if item.person_id == person]
        for i in mine:
            del self.state.interventions[i]
        return len(mine)


class FakeInstruments(_Part):
    async def published(self) -> dict[str, frozenset[str]]:
        return {family: frozenset(dims) for family, dims in self.state.instruments.items()}

    async def publish(self, family: str, dimensions: Sequence[str], purpose: str) -> None:
        self.state.instruments.setdefault(family, set()).update(dimensions)


class FakeTenantSettings(_Part):
    async def privacy(self) -> tuple[PrivacySettings, str]:
        return self.state.privacy, str(self.state.projection_version)

    async def set_k(self, k: int) -> None:
        self.state.privacy = PrivacySettings(PrivacyPolicy(k), self.state.privacy.named)

    async def set_named(self, organisation: str, named: bool) -> None:
        names = set(self.state.privacy.named)
        if named:
            names.add(organisation)
        else:
            names.discard(organisation)
        self.state.privacy = PrivacySettings(self.state.privacy.policy, frozenset(names))

    async def epoch(self, partition: str | None = None) -> int:
        own = self.state.partition_epochs.get(partition, 0) if partition else 0
        return self.state.epoch + own

    async def advance_epoch(self) -> None:
        self.state.epoch += 1


class FakeAccessLog(_Part):
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
        self.state.access_log.append(
            {"actor": principal.subject, "resident": resident, "action": action, "reason": reason}
        )
        self.state.access_on_behalf_of.append(on_behalf_of)

    async def anonymise_resident(self, person: str) -> int:
        mine = [e for e in self.state.access_log if e["resident"] == person]
        for entry in mine:
            entry["resident"] = "erased"
        return len(mine)

    async def anonymise_actor(self, person: str) -> int:
        mine = [e for e in self.state.access_log if e["actor"] == person]
        for entry in mine:
            entry["actor"] = "erased"
        return len(mine)


@dataclass
class FakeIngestionWrites:
    stored: list[Stored] = field(default_factory=list)
    cells: list[Mapping[CellKey, Accumulator]] = field(default_factory=list)
    persona: list[Mapping[PersonaKey, Accumulator]] = field(default_factory=list)

    @property
    def measurements(self) -> int:
        return len(self.stored)

    def add_measurement(
        self,
        stored: StoredMeasurement,
        *,
        trajectory: str,
        sequence: int,
        event_id: str,
        followup_pending: bool,
    ) -> None:
        self.stored.append(Stored(stored, trajectory, sequence, event_id, followup_pending))

    def add_cells(self, deltas: Mapping[CellKey, Accumulator]) -> None:
        self.cells.append(deltas)

    def add_persona(self, deltas: Mapping[PersonaKey, Accumulator]) -> None:
        self.persona.append(deltas)


class FakeRepositories:
    def __init__(self, state: TenantState, tenant: str) -> None:
        self.state = state
        self.measurements = FakeMeasurements(state, tenant)
        self.cells = FakeCells(state, tenant)
        self.persona = FakePersonaCells(state, tenant)
        self.profiles = FakeProfiles(state, tenant)
        self.consents = FakeConsents(state, tenant)
        self.erased = FakeErasedPersons(state, tenant)
        self.goals = FakeGoals(state, tenant)
        self.interventions = FakeInterventions(state, tenant)
        self.instruments = FakeInstruments(state, tenant)
        self.settings = FakeTenantSettings(state, tenant)
        self.access_log = FakeAccessLog(state, tenant)

    def ingestion_writes(self) -> FakeIngestionWrites:
        return FakeIngestionWrites()

    async def write_ingestion(self, writes: Any, partition: str | None = None) -> int:
        assert isinstance(writes, FakeIngestionWrites)
        if not writes.stored:
            return 0
        for stored in writes.stored:
            response = stored.measurement.measurement.response_id
            if response in self.state.measurements:
                raise DuplicateKeyError(f"measurement {response} exists")
            self.state.measurements[response] = stored
        for deltas in writes.cells:
            await self.cells.add(deltas)
        for persona in writes.persona:
            await self.persona.add(persona)
        if partition is None:
            await self.settings.advance_epoch()
        else:
            epochs = self.state.partition_epochs
            epochs[partition] = epochs.get(partition, 0) + 1
        return len(writes.stored)

    def rolled_back(self) -> int:
        return 0


class FakeInboxCollection:
    def __init__(self, claims: set[str]) -> None:
        self.claims = claims

    async def insert_one(self, doc: dict[str, Any], session: Any = None) -> None:
        if doc["_id"] in self.claims:
            raise DuplicateKeyError("already claimed")
        self.claims.add(doc["_id"])


class FakeErasedCollection:
    """`erased_persons` as `apply_once(..., person=...)` reads it (one-way tombstones)."""

    def __init__(self, tenant: str, erased: set[str]) -> None:
        self.tombstones = {person_tombstone(tenant, p) for p in erased}

    async def find_one(self, query: dict[str, Any], session: Any = None) -> dict[str, Any] | None:
        return {"_id": query["_id"]} if query["_id"] in self.tombstones else None


class FakeDb:
    """A tenant database as far as the shared library touches one here: the inbox and the
    erased persons `apply_once` checks."""

    def __init__(self, tenant: str, state: TenantState) -> None:
        self.name, self.tenant, self.state = f"fake_{tenant}", tenant, state

    def __getitem__(self, collection: str) -> FakeInboxCollection | FakeErasedCollection:
        if collection == ERASED_PERSONS:
            return FakeErasedCollection(self.tenant, self.state.erased)
        assert collection == INBOX, f"use cases reach {collection!r} through repositories"
        return FakeInboxCollection(self.state.inbox)


class FakeStorage:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def tenant_db(self, tenant: str) -> FakeDb:
        return FakeDb(tenant, self.store.tenant(tenant))

    async def tenants(self, max_age_seconds: float = 5.0) -> list[str]:
        return sorted(self.store.states)


class FakeStore:
    """Every tenant's state, and the repository factory the use cases get
    (`repositories=store.repositories`)."""

    def __init__(self) -> None:
        self.states: dict[str, TenantState] = {}

    def tenant(self, tenant: str) -> TenantState:
        return self.states.setdefault(tenant, TenantState())

    def repositories(self, db: Any, session: Any, tenant: str) -> FakeRepositories:
        return FakeRepositories(self.tenant(tenant), tenant)


class FakeRuntime:
    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()
        self.storage = FakeStorage(self.store)
        self.staged: dict[str, list[Any]] = defaultdict(list)
        self.commits = 0
        self._ids = itertools.count()

    async def commit(self, tenant: str, work: Any, *, batch_events: bool = False) -> Any:
        state = self.store.tenant(tenant)
        before = copy.deepcopy(state)
        try:
            result, events = await work(FakeDb(tenant, state), f"session-{next(self._ids)}")
        except BaseException:
            self.store.states[tenant] = before  # rolled back
            raise
        self.commits += 1
        self.staged[tenant] += list(events)
        return result
