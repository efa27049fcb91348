"""Use case: apply a batch of `response_submitted` events of one tenant in one transaction.

Store measurements (with the profile snapshot; a trajectory's latest one is marked as waiting
for its follow-up, see `service/followups.py`), fold the batch into aggregate and persona cell
deltas (domain delta method, one `$inc` upsert per changed cell) and stage
`measurement_recorded` events in batch outbox records, all in one transaction.

Idempotent without an inbox: a measurement's `_id` is its response id, so a redelivered event
(or the same response under another event id) finds its measurement stored and has no second
effect; an event that stores nothing (a survey, a refused one) has no effect to repeat. The
batch consumer runs with `use_inbox=False`, which saves a read and an insert per event.

Pipelined in two steps per batch: a `Plan` (reads, validation, the fold, documents, events:
everything but the writes) and its writes in one transaction. The batch consumer calls
`prepare` with the next batch while this one commits, so the next plan is computed during this
batch's writes, on top of what this batch will have written. Histories come from a
write-through cache (`HistoryCache`); only persons it does not know are read. A plan holds only
when the person-data epoch (`service/epoch.py`) read inside its transaction is the one the plan
expected and no transaction on the database rolled back meanwhile (its reads may have seen
uncommitted data on nx-27017); otherwise the transaction plans again from what it reads.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pymongo import UpdateOne
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import Envelope, SerializedEvent, serialize_event
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import PermanentError
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session, aborted_transactions

from effect_measurement.adapters.documents import (
    cell_upserts,
    measurement_document,
    persona_upserts,
    profile_from_document,
    stored_from_document,
    trajectory_id,
)
from effect_measurement.adapters.schema import CELLS, MEASUREMENTS, PERSONA, PROFILES, SETTINGS
from effect_measurement.domain.aggregates import Flat, RawCell, by_person, cells_of, fold_into
from effect_measurement.domain.inputs import InstrumentKind, MeasurementInput
from effect_measurement.domain.profiles import Profile
from effect_measurement.domain.trajectories import StoredMeasurement, snapshot
from effect_measurement.service.epoch import epoch_advance, read_epoch
from effect_measurement.service.instruments import families, to_measurement
from effect_measurement.service.persona import load_interventions, persona_batch_delta
from effect_measurement.service.reports import projection_touch

Db = Database[dict[str, Any]]


async def load_history(
    db: Db, persons: Sequence[str], session: Session | None = None
) -> tuple[dict[str, list[StoredMeasurement]], list[dict[str, Any]]]:
    """Stored measurements per person, and the raw documents (for trajectory bookkeeping)."""
    history: dict[str, list[StoredMeasurement]] = defaultdict(list)
    docs = await history_documents(db, persons, session)
    for doc in docs:
        history[doc["person_id"]].append(stored_from_document(doc))
    return history, docs


async def history_documents(
    db: Db, persons: Sequence[str], session: Session | None
) -> list[dict[str, Any]]:
    """The stored measurement documents of these persons."""
    if not persons:
        return []
    docs: list[dict[str, Any]] = (
        await db[MEASUREMENTS]
        .find({"person_id": {"$in": list(persons)}}, session=session)
        .to_list(None)
    )
    return docs


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


E = TypeVar("E")


class HistoryCache(Generic[E]):
    """Per tenant: the stored measurements of recently seen persons (ingestion keeps them
    decoded, as `StoredMeasurement`s), as of one person-data epoch (`service/epoch.py`).
    Ingestion is the only writer of measurements apart from erasure; both advance the epoch.
    When the epoch read inside a batch's transaction is the one this cache was left at by this
    process's last commit, the cached histories are exactly what the database holds, and only
    unseen persons are read. (The follow-up marks, which the scheduler clears without
    advancing the epoch, are not kept: ingestion never reads them.)"""

    def __init__(self, max_persons: int) -> None:
        self.max_persons = max_persons
        self.epoch: int | None = None
        self._docs: OrderedDict[str, list[E]] = OrderedDict()

    def valid_at(self, epoch: int) -> bool:
        """Inside a transaction at `epoch`: whether the cache holds; dropped when not."""
        if self.epoch != epoch:
            self.clear()
        return self.epoch is not None

    def holds_at(self, epochs: Collection[int]) -> bool:
        return self.epoch is not None and self.epoch in epochs

    def clear(self) -> None:
        self.epoch = None
        self._docs.clear()

    def split(self, persons: Sequence[str]) -> tuple[list[E], list[str]]:
        """(cached measurements of the known persons, the persons to read)."""
        docs: list[E] = []
        unknown: list[str] = []
        for person in persons:
            known = self._docs.get(person)
            if known is None:
                unknown.append(person)
            else:
                docs.extend(known)
                self._docs.move_to_end(person)
        return docs, unknown

    def record(self, epoch: int, after: Mapping[str, Sequence[E]]) -> None:
        """After a commit that left the database at `epoch`: the complete stored histories
        of the batch's persons (other persons' histories did not change)."""
        docs = self._docs
        for person, history in after.items():
            docs[person] = list(history)
            docs.move_to_end(person)
        while len(docs) > self.max_persons:
            docs.popitem(last=False)
        self.epoch = epoch


Docs = list[dict[str, Any]]
#: A person's stored measurements, decoded once when read from the database (not again for
#: every batch that finds them in the cache). Everything a plan needs of a stored document is
#: in it: the `_id` is the response id, the trajectory id follows from person, organisation
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
    documents: Docs  # new measurements
    cell_ops: list[UpdateOne]
    persona_ops: list[UpdateOne]
    events: list[SerializedEvent]  # measurement_recorded
    after: dict[str, Entries]  # every person's complete history once the batch is written

    @property
    def epoch_after(self) -> int:
        return self.epoch + 1 if self.documents else self.epoch


def _key(accepted: Accepted) -> tuple[str, ...]:
    return tuple(e.id for e, _ in accepted)


def _batch_keys(accepted: Accepted) -> tuple[list[str], list[str]]:
    """(persons, anonymous response ids) of a batch's measurements."""
    measurements = [m for _, m in accepted if m is not None]
    persons = sorted({m.person_id for m in measurements if m.person_id})
    anonymous = sorted({m.response_id for m in measurements if not m.person_id})
    return persons, anonymous


async def make_plan(
    db: Db,
    session: Session | None,
    tenant: str,
    accepted: Accepted,
    *,
    epoch: int,
    known: Mapping[str, Entries],
    cache: HistoryCache[StoredMeasurement] | None,
) -> Plan:
    """The batch's plan at `epoch`: histories from `known` (a previous plan's result), then
    `cache` (pass it only when it holds for the persons not in `known`), then the database."""
    aborts = aborted_transactions(db.name)
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
    history_docs.extend(
        stored_from_document(doc) for doc in await history_documents(db, unknown, session)
    )
    existing = {stored.measurement.response_id for stored in history_docs}
    if anonymous:
        # A person's responses are in their history; only anonymous ones need a look-up.
        existing |= {
            d["_id"]
            async for d in db[MEASUREMENTS].find(
                {"_id": {"$in": anonymous}}, projection={"_id": 1}, session=session
            )
        }
    plan = Plan(epoch, aborts, 0, _key(accepted), [], [], [], [], {p: [] for p in persons})
    for stored in history_docs:
        plan.after[stored.measurement.person_id or ""].append(stored)
    # A response already stored (redelivered under another event id) has no second effect.
    candidates = {m.response_id: (e, m) for e, m in accepted if m is not None}
    fresh = sorted(
        (pair for rid, pair in candidates.items() if rid not in existing),
        key=lambda pair: (pair[1].submitted_at, pair[1].response_id),
    )
    if not fresh:
        return plan
    fresh_persons = sorted({m.person_id for _, m in fresh if m.person_id})
    profiles = {
        d["_id"]: profile_from_document(d)
        async for d in db[PROFILES].find({"_id": {"$in": fresh_persons}}, session=session)
    }
    history: dict[str, list[StoredMeasurement]] = defaultdict(list)
    for stored in history_docs:
        history[stored.measurement.person_id or ""].append(stored)
    # The computation below yields to the event loop between steps: while the next batch is
    # planned, the batch being written needs the loop for each of its database operations.
    # (Yielding every 100 persons and 250 documents measured ~10 % slower overall.)
    await asyncio.sleep(0)
    stored_new = _documents(tenant, fresh, history_docs, profiles, plan)
    await asyncio.sleep(0)

    new_by_person = by_person(stored_new)
    # Persona contributions need a change (two points): skip people with one measurement.
    changed = {p: items for p, items in new_by_person.items() if len(items) + len(history[p]) > 1}
    interventions = await load_interventions(db, list(changed), session) if changed else {}
    sums: dict[RawCell, Flat] = {}
    folding = list(new_by_person)
    for start in range(0, len(folding), _FOLD_STEP):
        fold_into(sums, {p: new_by_person[p] for p in folding[start : start + _FOLD_STEP]}, history)
        await asyncio.sleep(0)
    plan.cell_ops = cell_upserts(cells_of(tenant, sums))
    if changed:
        await asyncio.sleep(0)
        plan.persona_ops = persona_upserts(
            persona_batch_delta(tenant, history, changed, interventions)
        )

    for stored in stored_new:
        if stored.measurement.person_id:
            plan.after[stored.measurement.person_id].append(stored)
    return plan


def _documents(
    tenant: str,
    fresh: Sequence[tuple[Envelope[ResponseSubmitted], MeasurementInput]],
    history_docs: Entries,
    profiles: Mapping[str, Profile],
    plan: Plan,
) -> list[StoredMeasurement]:
    """Fill the plan's documents and events; returns the new measurements.

    Trajectory bookkeeping: sequence = position in the trajectory; a new measurement that is
    its trajectory's latest waits for its follow-up (`followup_pending`). The mark of the one
    it supersedes stays: the follow-up scheduler clears it when it comes due."""
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
    for envelope, m in fresh:
        stored = snapshot(m, profiles.get(m.person_id or ""))
        stored_new.append(stored)
        tid = trajectory_id(m.person_id, m.organisation, m.family) if m.person_id else ""
        sequence = count[tid]
        count[tid] += 1
        plan.documents.append(
            measurement_document(
                stored,
                trajectory=tid,
                sequence=sequence,
                event_id=envelope.id,
                pending=last_new.get(tid) == m.response_id,
            )
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


async def write_plan(db: Db, session: Session, plan: Plan) -> int:
    if not plan.documents:
        return 0
    await db[MEASUREMENTS].insert_many(plan.documents, ordered=False, session=session)
    if plan.cell_ops:
        await db[CELLS].bulk_write(plan.cell_ops, ordered=False, session=session)
    if plan.persona_ops:
        await db[PERSONA].bulk_write(plan.persona_ops, ordered=False, session=session)
    # The person-data epoch, and the projection version when cells changed: one round trip.
    await db[SETTINGS].bulk_write(
        [epoch_advance(), *([projection_touch()] if plan.cell_ops else [])], session=session
    )
    return len(plan.documents)


@dataclass(slots=True)
class Accepting:
    """A batch validated against the instrument families: measurements and refusals."""

    families: dict[str, frozenset[str]]
    accepted: list[tuple[Envelope[ResponseSubmitted], MeasurementInput | None]]
    refused: dict[str, str]


def _validate(
    envelopes: Sequence[Envelope[ResponseSubmitted]], known: dict[str, frozenset[str]]
) -> Accepting:
    result = Accepting(known, [], {})
    for envelope in envelopes:
        try:
            result.accepted.append((envelope, to_measurement(envelope, known)))
        except PermanentError as error:
            result.refused[envelope.id] = str(error)
    return result


class ResponseIngestion:
    """The batch consumer's `prepare` and `apply` for `response_submitted` (see the module
    docstring). One instance per process; a tenant's batches are prepared and applied in order.

    Plans chain: each prepared plan builds on the tenant's latest plan (`_last`). When a
    transaction cannot use its prepared plan (the epoch moved, a rollback) or fails, the
    tenant's generation goes up, which voids every plan built on the one not used.
    """

    _PLANS = 4  # prepared plans kept (a batch split after an error never uses its plan)

    def __init__(self, runtime: ServiceRuntime, history_cache_persons: int = 20_000) -> None:
        self.runtime = runtime
        self._caches: dict[str, HistoryCache[StoredMeasurement]] = defaultdict(
            lambda: HistoryCache(history_cache_persons)
        )
        self._planned: dict[tuple[str, ...], Plan] = {}
        # Batches `prepare` validated: `apply` skips validating them again (~4 % of the CPU).
        self._accepted: dict[tuple[str, ...], Accepting] = {}
        # Instrument families per tenant database, read again only when an event is refused.
        self._families: dict[str, dict[str, frozenset[str]]] = {}
        self._last: dict[str, Plan] = {}
        self._generation: dict[str, int] = defaultdict(int)
        # Per tenant: set once the batch being applied knows which plan it writes.
        self._deciding: dict[str, asyncio.Future[None]] = {}

    async def _accept(self, db: Db, envelopes: Sequence[Envelope[ResponseSubmitted]]) -> Accepting:
        ahead = self._accepted.pop(tuple(e.id for e in envelopes), None)
        known = self._families.get(db.name)
        if ahead is not None and ahead.families is known:
            return ahead  # `prepare` validated these envelopes against the same families
        reread = known is None
        if known is None:
            known = self._families[db.name] = await families(db)
        result = _validate(envelopes, known)
        if result.refused and not reread:
            # Families only grow: a refusal may be an instrument published since they were
            # read (e.g. through another replica). Read them again before refusing anything.
            known = self._families[db.name] = await families(db)
            result = _validate(envelopes, known)
        return result

    async def prepare(self, db: Db, envelopes: Sequence[Envelope[ResponseSubmitted]]) -> None:
        """Plan the next batch on top of the latest plan (usually still being written)."""
        accepting = await self._accept(db, envelopes)
        while len(self._accepted) >= self._PLANS:
            self._accepted.pop(next(iter(self._accepted)))
        self._accepted[tuple(e.id for e in envelopes)] = accepting
        accepted = accepting.accepted
        if not accepted:
            return
        tenant = accepted[0][0].tenant
        deciding = self._deciding.get(tenant)
        if deciding is not None:
            await asyncio.shield(deciding)  # build on the plan the current batch writes
        generation = self._generation[tenant]
        base = self._last.get(tenant)
        if base is None or base.generation != generation:
            return  # nothing to build on: the batch plans inside its transaction
        cache = self._caches[tenant]
        # Persons `base` does not touch are as the cache has them, whether `base` has been
        # committed yet or not.
        usable = cache if cache.holds_at((base.epoch, base.epoch_after)) else None
        plan = await make_plan(
            db, None, tenant, accepted, epoch=base.epoch_after, known=base.after, cache=usable
        )
        if self._generation[tenant] != generation:
            return  # `base` was not used meanwhile
        plan.generation = generation
        while len(self._planned) >= self._PLANS:
            self._planned.pop(next(iter(self._planned)))
        self._planned[plan.key] = plan
        self._last[tenant] = plan

    async def __call__(
        self, db: Db, envelopes: Sequence[Envelope[ResponseSubmitted]], durable: str
    ) -> dict[str, str]:
        """The batch consumer's `apply`; returns refused event ids with the reason."""
        if not envelopes:
            return {}
        tenant = envelopes[0].tenant  # the consumer hands over one tenant's batch
        # Registered before the first wait: `prepare` of the next batch waits for it.
        deciding = self._deciding[tenant] = asyncio.get_running_loop().create_future()
        try:
            return await self._apply(db, tenant, envelopes, deciding)
        finally:
            if not deciding.done():
                deciding.set_result(None)
            if self._deciding.get(tenant) is deciding:
                del self._deciding[tenant]

    async def _apply(
        self,
        db: Db,
        tenant: str,
        envelopes: Sequence[Envelope[ResponseSubmitted]],
        deciding: asyncio.Future[None],
    ) -> dict[str, str]:
        accepting = await self._accept(db, envelopes)
        accepted, refused = accepting.accepted, accepting.refused
        if not accepted:
            return refused
        cache = self._caches[tenant]
        prepared = self._planned.pop(_key(accepted), None)
        if prepared is not None and prepared.generation != self._generation[tenant]:
            prepared = None
        used: list[Plan] = []

        async def work(db: Db, session: Session) -> tuple[int, list[SerializedEvent]]:
            retry = bool(used)
            used.clear()  # a retried transaction keeps only its last attempt's plan
            epoch = await read_epoch(db, session)
            plan = prepared
            if (
                retry
                or plan is None
                or plan.epoch != epoch
                or plan.aborts != aborted_transactions(db.name)
            ):
                plan = await make_plan(
                    db,
                    session,
                    tenant,
                    accepted,
                    epoch=epoch,
                    known={},
                    cache=cache if cache.valid_at(epoch) else None,
                )
                # Plans built on another one (or on an earlier attempt) are void.
                self._generation[tenant] += 1
                plan.generation = self._generation[tenant]
                self._last[tenant] = plan
            if not deciding.done():
                deciding.set_result(None)
            used.append(plan)
            return await write_plan(db, session, plan), plan.events

        try:
            await self.runtime.commit(tenant, work, batch_events=True)
        except BaseException:
            cache.clear()  # what it read may have changed; what it wrote is not committed
            self._generation[tenant] += 1
            self._last.pop(tenant, None)
            raise
        plan = used[0]
        cache.record(plan.epoch_after, plan.after)
        return refused
