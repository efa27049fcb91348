"""What the use cases are written against: the runtime's one write path and the repositories.

`Runtime` is the part of `wijkkracht_common.runtime.ServiceRuntime` they use: `commit(tenant,
work)` runs `work(db, session)` in one transaction and stages the events it returns, and the
tenant databases to read from. A use case opens the repositories of a database with a
`RepositoryFactory` (`repositories(db, session, tenant)`; `session` None: reads outside any
transaction). They take and return domain objects.

Implementations: `adapters/repositories.py` on the database (the default everywhere); in
memory, `tests/unit/em_fakes.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.identity import ConsentPurpose
from wijkkracht_common.runtime import Work
from wijkkracht_common.storage import Database, Session

from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.followups import WaitingMeasurement
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.keys import CellKey, PersonaKey
from effect_measurement.domain.periods import Period
from effect_measurement.domain.policy import PrivacySettings
from effect_measurement.domain.profiles import Profile
from effect_measurement.domain.trajectories import Goal, StoredMeasurement

T = TypeVar("T")
Db = Database[dict[str, Any]]


class Databases(Protocol):
    async def tenant_db(self, tenant: str) -> Db: ...
    async def tenants(self, max_age_seconds: float = ...) -> list[str]: ...


class Runtime(Protocol):
    @property
    def storage(self) -> Databases: ...

    async def commit(self, tenant: str, work: Work[T], *, batch_events: bool = False) -> T: ...


class Measurements(Protocol):
    async def of_persons(self, persons: Sequence[str]) -> list[StoredMeasurement]:
        """The stored measurements of these persons."""

    async def stored_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these measurement (= response) ids are stored."""

    async def of_person(self, person: str) -> list[tuple[str, StoredMeasurement]]:
        """(trajectory id, measurement) of each of the person's measurements."""

    async def waiting_for_followup(
        self, submitted_before: datetime, limit: int
    ) -> list[WaitingMeasurement]:
        """Measurements (not self-assessments) still waiting for their follow-up, submitted
        at or before ``submitted_before``."""

    async def latest_per_trajectory(self, persons: Sequence[str]) -> dict[str, datetime]:
        """Per trajectory id of these persons: the time of its latest measurement."""

    async def clear_followup_marks(self, ids: Collection[str]) -> None: ...

    async def mark_followup_announced(self, measurement_id: str, sequence: int) -> bool:
        """Clears the mark of a measurement still waiting; False when it no longer was."""

    async def delete_of_person(self, person: str) -> int: ...


class Cells(Protocol):
    """The aggregate projection (one `$inc` per changed cell)."""

    async def read(
        self, family: str, period: Period, version: str | None = None
    ) -> dict[CellKey, Accumulator]:
        """The cells of a report's period and of every period nesting with it; ``version``:
        the projection version read before (cached while it holds). Treat as read-only."""

    async def add(self, deltas: Mapping[CellKey, Accumulator]) -> None:
        """Add deltas; the projection gets a new version in the same transaction."""


class PersonaCells(Protocol):
    async def read(
        self, family: str, year: Period, dimension: str, attribute: str
    ) -> dict[PersonaKey, Accumulator]: ...

    async def add(self, deltas: Mapping[PersonaKey, Accumulator]) -> None: ...


class Profiles(Protocol):
    async def get(self, person: str) -> Profile | None: ...
    async def of_persons(self, persons: Sequence[str]) -> dict[str, Profile]: ...
    async def save(self, profile: Profile, at: datetime) -> None: ...
    async def delete(self, person: str) -> int: ...


class Consents(Protocol):
    """The platform's one consent projection (`wijkkracht_common.consent`), kept by the
    shared consumer; the service only reads it, and forgets a person on erasure."""

    async def organisations_sharing(self, person: str, purpose: ConsentPurpose) -> list[str]:
        """Organisations the person allows `purpose` now."""

    async def given(self, person: str, organisation: str, purpose: ConsentPurpose) -> bool: ...

    async def sharing(self, person: str) -> dict[str, list[str]]:
        """Per purpose, the organisations the person allows it now (export)."""

    async def forget(self, person: str) -> int: ...

    async def has_legacy(self) -> bool:
        """Whether the service's former consent projection still holds states."""

    async def adopt_legacy(self, tenant: str) -> int:
        """Move the service's former consent states into the platform's projection."""


class ErasedPersons(Protocol):
    """One-way tombstones of the persons erased here (`wijkkracht_common.erasure`)."""

    async def exist(self) -> bool:
        """Whether the tenant erased anyone at all (one cheap read)."""

    async def among(self, persons: Sequence[str]) -> set[str]:
        """Which of these persons were erased (one read for a whole batch)."""

    async def remember(self, person: str) -> None: ...


class Goals(Protocol):
    async def of_person(self, person: str) -> dict[str, list[Goal]]:
        """Per trajectory id, its goals (history kept)."""

    async def add(self, person: str, trajectory: str, goal: Goal) -> None: ...
    async def delete_of_person(self, person: str) -> int: ...

    async def unlink_setter(self, person: str, tombstone: str) -> int:
        """Goals a staff member set on others' trajectories name `tombstone` instead."""


class Interventions(Protocol):
    async def exists(self, intervention_id: str) -> bool: ...
    async def of_persons(self, persons: Sequence[str]) -> dict[str, list[InterventionInput]]: ...
    async def add(self, item: InterventionInput) -> None: ...
    async def delete_of_person(self, person: str) -> int: ...


class Instruments(Protocol):
    async def published(self) -> dict[str, frozenset[str]]:
        """Family -> dimension codes of the instruments the tenant published."""

    async def publish(self, family: str, dimensions: Sequence[str], purpose: str) -> None: ...


class TenantSettings(Protocol):
    async def privacy(self) -> tuple[PrivacySettings, str]:
        """The privacy settings and the aggregate projection's version (one read)."""

    async def set_k(self, k: int) -> None: ...
    async def set_named(self, organisation: str, named: bool) -> None: ...

    async def epoch(self, partition: str | None = None) -> int:
        """The person-data epoch (see `service/history_cache.py`) as one ingestion partition
        sees it: the tenant's epoch plus the partition's own. Both only grow, so the sum
        moves whenever either does."""

    async def advance_epoch(self) -> None:
        """Inside every transaction that writes person data other than ingestion's (erasure,
        interventions): moves every partition's epoch."""


class AccessLog(Protocol):
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
        """One access to a resident's data by staff of `on_behalf_of` (NEN 7513), with its
        `access.recorded` event."""

    async def anonymise_resident(self, person: str) -> int:
        """Erasure: the records keep their retention, no longer linked to the person."""

    async def anonymise_actor(self, person: str) -> int:
        """Erasure of a staff member: what they looked at keeps its retention, unlinked."""


class IngestionWrites(Protocol):
    """The writes of one ingestion batch, prepared ahead of its transaction (no I/O)."""

    @property
    def measurements(self) -> int: ...

    def add_measurement(
        self,
        stored: StoredMeasurement,
        *,
        trajectory: str,
        sequence: int,
        event_id: str,
        followup_pending: bool,
    ) -> None: ...

    def add_cells(self, deltas: Mapping[CellKey, Accumulator]) -> None: ...
    def add_persona(self, deltas: Mapping[PersonaKey, Accumulator]) -> None: ...


class Repositories(Protocol):
    """The repositories of one tenant database, inside one transaction or none."""

    @property
    def measurements(self) -> Measurements: ...
    @property
    def cells(self) -> Cells: ...
    @property
    def persona(self) -> PersonaCells: ...
    @property
    def profiles(self) -> Profiles: ...
    @property
    def consents(self) -> Consents: ...
    @property
    def erased(self) -> ErasedPersons: ...
    @property
    def goals(self) -> Goals: ...
    @property
    def interventions(self) -> Interventions: ...
    @property
    def instruments(self) -> Instruments: ...
    @property
    def settings(self) -> TenantSettings: ...
    @property
    def access_log(self) -> AccessLog: ...

    def ingestion_writes(self) -> IngestionWrites: ...

    async def write_ingestion(self, writes: IngestionWrites, partition: str | None = None) -> int:
        """Store a batch: measurements, cell and persona deltas, the ingestion partition's
        epoch and (when cells changed) the projection version. Returns the measurements
        stored."""

    def rolled_back(self) -> int:
        """Transactions on this database this process rolled back so far. Where reads
        outside a transaction can see uncommitted writes, a reader that must not act on
        rolled-back data compares it before and after its reads."""


class RepositoryFactory(Protocol):
    def __call__(self, db: Db, session: Session | None, tenant: str) -> Repositories: ...


async def reading(runtime: Runtime, tenant: str, repositories: RepositoryFactory) -> Repositories:
    """The tenant's repositories for reads outside a transaction."""
    return repositories(await runtime.storage.tenant_db(tenant), None, tenant)
