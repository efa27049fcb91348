"""The plan of one ingestion batch: everything it will write, computed from the stored state.

A `Plan` holds the batch's reads, validation, fold, prepared writes and events: everything
but the writes themselves (`Repositories.write_ingestion`). Trajectory bookkeeping: a
measurement's sequence is its position in its trajectory, and one that is its trajectory's
latest waits for its follow-up (`followup_pending`); the mark of the one it supersedes stays,
the follow-up scheduler clears it when it comes due (`service/followups.py`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import Envelope, SerializedEvent, serialize_event
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.storage import Session

from effect_measurement.domain.accumulator import Flat
from effect_measurement.domain.aggregates import cells_of
from effect_measurement.domain.fold import by_person, fold_into
from effect_measurement.domain.inputs import InstrumentKind, MeasurementInput
from effect_measurement.domain.keys import RawCell
from effect_measurement.domain.persona import persona_fold
from effect_measurement.domain.profiles import Profile
from effect_measurement.domain.trajectories import StoredMeasurement, snapshot, trajectory_id
from effect_measurement.service.history_cache import HistoryCache
from effect_measurement.service.ports import Db, IngestionWrites, Repositories, RepositoryFactory

#: A person's stored measurements, decoded once when read from the database (not again for
#: every batch that finds them in the cache). Everything a plan needs of a stored measurement
#: is in it: its id is the response id, the trajectory id follows from person, organisation
#: and family.
Entries = list[StoredMeasurement]
_FOLD_STEP = 250  # persons folded between two yields to the event loop (~10 ms)
Accepted = Sequence[tuple[Envelope[ResponseSubmitted], MeasurementInput | None]]


@dataclass(slots=True)
class Plan:
    """Everything a batch will write, computed from the state at `epoch`."""

    epoch: int  # the person-data epoch the plan was computed at (its transaction checks it)
    aborts: int  # rolled-back transactions on the database when its reads began
    generation: int  # the tenant's plan generation it belongs to (see ResponseIngestion)
    key: tuple[str, ...]  # event ids of the accepted envelopes it was made for
    writes: IngestionWrites  # new measurements, cell and persona deltas
    events: list[SerializedEvent]  # measurement_recorded
    after: dict[str, Entries]  # every person's complete history once the batch is written
    base: Plan | None = None  # the plan it was prepared on, until this one is committed
    committed: bool = False

    @property
    def epoch_after(self) -> int:
        return self.epoch + 1 if self.writes.measurements else self.epoch

    def unwritten(self) -> list[Plan]:
        """This plan and those it builds on that are not committed yet, oldest first."""
        chain: list[Plan] = []
        plan: Plan | None = self
        while plan is not None and not plan.committed:
            chain.append(plan)
            plan = plan.base
        return chain[::-1]

    def mark_committed(self) -> None:
        self.committed = True
        self.base = None  # the chain behind a committed plan is no longer needed


def plan_key(accepted: Accepted) -> tuple[str, ...]:
    return tuple(e.id for e, _ in accepted)


def _batch_keys(accepted: Accepted) -> tuple[list[str], list[str]]:
    """(persons, anonymous response ids) of a batch's measurements."""
    measurements = [m for _, m in accepted if m is not None]
    persons = sorted({m.person_id for m in measurements if m.person_id})
    anonymous = sorted({m.response_id for m in measurements if not m.person_id})
    return persons, anonymous


def recorded(
    tenant: str, cause: Envelope[ResponseSubmitted], now: datetime, **data: Any
) -> SerializedEvent:
    """`new_event(MeasurementRecorded(...))` as JSON, without building and validating the
    models (thousands per batch; the values come from validated input and are typed here)."""
    return serialize_event(
        MeasurementRecorded,
        data,
        tenant=tenant,
        subject=data["trajectory_id"],
        time=now,
        organisation=cause.organisation,
        actor=cause.actor,
        correlationid=cause.correlationid,
    )


async def make_plan(
    db: Db,
    session: Session | None,
    tenant: str,
    accepted: Accepted,
    *,
    epoch: int,
    known: Mapping[str, Entries],
    cache: HistoryCache[StoredMeasurement] | None,
    repositories: RepositoryFactory,
) -> Plan:
    """The batch's plan at `epoch`: histories from `known` (a previous plan's result), then
    `cache` (pass it only when it holds for the persons not in `known`), then the database."""
    repos = repositories(db, session, tenant)
    aborts = repos.rolled_back()
    persons, anonymous = _batch_keys(accepted)
    history_docs: Entries = []
    unknown: list[str] = []
    for person in persons:
        if person in known:
            history_docs.extend(known[person])
        else:
            unknown.append(person)
    if cache is not None:
        cached, unknown = cache.split(unknown)
        history_docs.extend(cached)
    history_docs.extend(await repos.measurements.of_persons(unknown))
    erased = await _erased(repos, unknown, history_docs)
    existing = {stored.measurement.response_id for stored in history_docs}
    if anonymous:
        # A person's responses are in their history; only anonymous ones need a look-up.
        existing |= await repos.measurements.stored_ids(anonymous)
    writes = repos.ingestion_writes()
    kept = [p for p in persons if p not in erased]
    plan = Plan(epoch, aborts, 0, plan_key(accepted), writes, [], {p: [] for p in kept})
    for stored in history_docs:
        plan.after[stored.measurement.person_id or ""].append(stored)
    # A response already stored (redelivered under another event id) has no second effect.
    candidates = {
        m.response_id: (e, m)
        for e, m in accepted
        if m is not None and (m.person_id is None or m.person_id not in erased)
    }
    fresh = sorted(
        (pair for rid, pair in candidates.items() if rid not in existing),
        key=lambda pair: (pair[1].submitted_at, pair[1].response_id),
    )
    if not fresh:
        return plan
    profiles = await repos.profiles.of_persons(
        sorted({m.person_id for _, m in fresh if m.person_id})
    )
    history: dict[str, list[StoredMeasurement]] = defaultdict(list)
    for stored in history_docs:
        history[stored.measurement.person_id or ""].append(stored)
    # The computation below yields to the event loop between steps: while the next batch is
    # planned, the batch being written needs the loop for each of its database operations.
    # (Yielding every 100 persons and 250 documents measured ~10 % slower overall.)
    await asyncio.sleep(0)
    stored_new = _measurements(tenant, fresh, history_docs, profiles, plan)
    await asyncio.sleep(0)

    new_by_person = by_person(stored_new)
    # Persona contributions need a change (two points): skip people with one measurement.
    changed = {p: items for p, items in new_by_person.items() if len(items) + len(history[p]) > 1}
    interventions = await repos.interventions.of_persons(list(changed)) if changed else {}
    sums: dict[RawCell, Flat] = {}
    folding = list(new_by_person)
    for start in range(0, len(folding), _FOLD_STEP):
        fold_into(sums, {p: new_by_person[p] for p in folding[start : start + _FOLD_STEP]}, history)
        await asyncio.sleep(0)
    writes.add_cells(cells_of(tenant, sums))
    if changed:
        await asyncio.sleep(0)
        writes.add_persona(persona_fold(tenant, history, changed, interventions))

    for stored in stored_new:
        if stored.measurement.person_id:
            plan.after[stored.measurement.person_id].append(stored)
    return plan


async def _erased(repos: Repositories, unknown: Sequence[str], history_docs: Entries) -> set[str]:
    """The batch's persons erased here: their responses (in flight when they were erased)
    are dropped. Only persons read from the database are looked up (one known from a previous
    plan or the cache was not erased then, and an erasure since advanced the epoch, voiding
    both), and of those only the ones with no stored measurement (erasure deleted an erased
    person's, and none is stored since), and only when the tenant erased anyone at all."""
    if not unknown:
        return set()
    measured = {stored.measurement.person_id for stored in history_docs}
    without_history = [person for person in unknown if person not in measured]
    if not without_history or not await repos.erased.exist():
        return set()
    return await repos.erased.among(without_history)


def _measurements(
    tenant: str,
    fresh: Sequence[tuple[Envelope[ResponseSubmitted], MeasurementInput]],
    history_docs: Entries,
    profiles: Mapping[str, Profile],
    plan: Plan,
) -> list[StoredMeasurement]:
    """Add the new measurements and their events to the plan; returns the measurements."""
    count: dict[str, int] = defaultdict(int)
    latest: dict[str, datetime] = {}
    for stored in history_docs:
        data = stored.measurement
        if data.person_id:
            tid = trajectory_id(data.person_id, data.organisation, data.family)
            count[tid] += 1
            latest[tid] = max(latest.get(tid, data.submitted_at), data.submitted_at)
    last_new: dict[str, str] = {}
    for _, m in fresh:
        if m.person_id and m.kind is InstrumentKind.MEASUREMENT:
            tid = trajectory_id(m.person_id, m.organisation, m.family)
            if tid not in latest or m.submitted_at > latest[tid]:
                last_new[tid] = m.response_id

    stored_new: list[StoredMeasurement] = []
    now = datetime.now(UTC)
    add_measurement = plan.writes.add_measurement
    for envelope, m in fresh:
        stored = snapshot(m, profiles.get(m.person_id or ""))
        stored_new.append(stored)
        tid = trajectory_id(m.person_id, m.organisation, m.family) if m.person_id else ""
        sequence = count[tid]
        count[tid] += 1
        add_measurement(
            stored,
            trajectory=tid,
            sequence=sequence,
            event_id=envelope.id,
            followup_pending=last_new.get(tid) == m.response_id,
        )
        if m.person_id and m.kind is InstrumentKind.MEASUREMENT:
            plan.events.append(
                recorded(
                    tenant,
                    envelope,
                    now,
                    measurement_id=m.response_id,
                    response_id=m.response_id,
                    person_id=m.person_id,
                    trajectory_id=tid,
                    family=m.family,
                    sequence=sequence,
                    recorded_at=now,
                )
            )
    return stored_new
