"""Use case: apply a batch of `response_submitted` events of one tenant in one transaction.

Store measurements (with the profile snapshot), keep each trajectory's follow-up marker on its
latest measurement, fold the batch into aggregate and persona cell deltas (domain delta method,
one `$inc` upsert per changed cell) and stage `measurement_recorded` events, atomically with
the inbox claims.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from wijkkracht_common import inbox
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import Envelope, new_event_id
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import PermanentError
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session

from effect_measurement.adapters.documents import (
    cell_upserts,
    measurement_document,
    persona_upserts,
    profile_from_document,
    stored_from_document,
    trajectory_id,
)
from effect_measurement.adapters.schema import CELLS, MEASUREMENTS, PERSONA, PROFILES
from effect_measurement.domain.aggregates import fold_batch
from effect_measurement.domain.inputs import InstrumentKind, MeasurementInput
from effect_measurement.domain.trajectories import StoredMeasurement, snapshot
from effect_measurement.service.instruments import families, to_measurement
from effect_measurement.service.persona import load_interventions, persona_batch_delta
from effect_measurement.service.reports import touch_projection

Db = Database[dict[str, Any]]


async def load_history(
    db: Db, persons: Sequence[str], session: Session | None = None
) -> tuple[dict[str, list[StoredMeasurement]], list[dict[str, Any]]]:
    """Stored measurements per person, and the raw documents (for trajectory bookkeeping)."""
    history: dict[str, list[StoredMeasurement]] = defaultdict(list)
    docs = await db[MEASUREMENTS].find({"person_id": {"$in": list(persons)}},
                                      session=session).to_list(None)
    for doc in docs:
        history[doc["person_id"]].append(stored_from_document(doc))
    return history, docs


_RECORDED = Envelope[MeasurementRecorded]  # type: ignore[valid-type]


def recorded(tenant: str, cause: Envelope[ResponseSubmitted], now: datetime, **data: Any
             ) -> Envelope[MeasurementRecorded]:
    """`new_event(MeasurementRecorded(...))` without validating what this code just built
    (hundreds per batch; the values come from validated input and are typed here)."""
    return _RECORDED.model_construct(
        id=new_event_id(), source=MeasurementRecorded.event_source(),
        type=MeasurementRecorded.event_type(), time=now, subject=data["trajectory_id"],
        tenant=tenant, organisation=cause.organisation, actor=cause.actor,
        correlationid=cause.correlationid, specversion="1.0",
        datacontenttype="application/json", data=MeasurementRecorded.model_construct(**data),
    )


class ResponseIngestion:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    async def __call__(
        self, db: Db, envelopes: Sequence[Envelope[ResponseSubmitted]], durable: str
    ) -> dict[str, str]:
        """The batch consumer's `apply`; returns refused event ids with the reason."""
        known = await families(db)
        refused: dict[str, str] = {}
        accepted: list[tuple[Envelope[ResponseSubmitted], MeasurementInput | None]] = []
        for envelope in envelopes:
            try:
                accepted.append((envelope, to_measurement(envelope, known)))
            except PermanentError as error:
                refused[envelope.id] = str(error)
        if not accepted:
            return refused
        tenant = accepted[0][0].tenant

        async def work(db: Db, session: Session) -> tuple[int, list[Envelope[Any]]]:
            await inbox.claim_many(db, durable, [e.id for e, _ in accepted], session=session)
            return await _store(db, session, tenant, accepted)

        await self.runtime.commit(tenant, work)
        return refused


async def _store(
    db: Db,
    session: Session,
    tenant: str,
    accepted: Sequence[tuple[Envelope[ResponseSubmitted], MeasurementInput | None]],
) -> tuple[int, list[Envelope[Any]]]:
    candidates = {m.response_id: (e, m) for e, m in accepted if m is not None}
    if not candidates:
        return 0, []
    persons = sorted({m.person_id for _, m in candidates.values() if m.person_id})
    history, history_docs = await load_history(db, persons, session)
    # A response already stored (redelivered under another event id) has no second effect.
    # A person's responses are in their history; only anonymous ones need a look-up by id.
    existing = {doc["_id"] for doc in history_docs}
    anonymous = [rid for rid, (_, m) in candidates.items() if not m.person_id]
    if anonymous:
        existing |= {
            d["_id"]
            async for d in db[MEASUREMENTS].find(
                {"_id": {"$in": anonymous}}, projection={"_id": 1}, session=session
            )
        }
    fresh = sorted(
        (pair for rid, pair in candidates.items() if rid not in existing),
        key=lambda pair: (pair[1].submitted_at, pair[1].response_id),
    )
    if not fresh:
        return 0, []
    persons = sorted({m.person_id for _, m in fresh if m.person_id})
    profiles = {
        d["_id"]: profile_from_document(d)
        async for d in db[PROFILES].find({"_id": {"$in": persons}}, session=session)
    }

    # Trajectory bookkeeping: sequence = position in the trajectory; only the latest
    # measurement of a trajectory waits for its follow-up (`followup_pending`).
    count: dict[str, int] = defaultdict(int)
    latest: dict[str, datetime] = {}
    pending_before: dict[str, list[str]] = defaultdict(list)
    for doc in history_docs:
        tid = doc.get("trajectory_id")
        if tid:
            count[tid] += 1
            latest[tid] = max(latest.get(tid, doc["submitted_at"]), doc["submitted_at"])
            if doc.get("followup_pending"):
                pending_before[tid].append(doc["_id"])
    last_new: dict[str, str] = {}
    for _, m in fresh:
        if m.person_id and m.kind is InstrumentKind.MEASUREMENT:
            tid = trajectory_id(m.person_id, m.organisation, m.family)
            if tid not in latest or m.submitted_at > latest[tid]:
                last_new[tid] = m.response_id

    stored_new: list[StoredMeasurement] = []
    documents: list[dict[str, Any]] = []
    events: list[Envelope[Any]] = []
    now = datetime.now(UTC)
    for envelope, m in fresh:
        stored = snapshot(m, profiles.get(m.person_id or ""))
        stored_new.append(stored)
        tid = trajectory_id(m.person_id, m.organisation, m.family) if m.person_id else ""
        sequence = count[tid]
        count[tid] += 1
        documents.append(
            measurement_document(
                stored, trajectory=tid, sequence=sequence, event_id=envelope.id,
                pending=last_new.get(tid) == m.response_id,
            )
        )
        if m.person_id and m.kind is InstrumentKind.MEASUREMENT:
            events.append(recorded(
                tenant, envelope, now,
                measurement_id=m.response_id, response_id=m.response_id, person_id=m.person_id,
                trajectory_id=tid, family=m.family, sequence=sequence, recorded_at=now,
            ))

    # Persona contributions need a change (two points): skip people with one measurement.
    new_by_person: dict[str, list[StoredMeasurement]] = defaultdict(list)
    for stored in stored_new:
        if stored.measurement.person_id:
            new_by_person[stored.measurement.person_id].append(stored)
    changed = {p: items for p, items in new_by_person.items()
               if len(items) + len(history[p]) > 1}
    interventions = await load_interventions(db, list(changed), session) if changed else {}
    superseded = [i for tid in last_new for i in pending_before.get(tid, [])]

    async def store_measurements() -> None:
        await db[MEASUREMENTS].insert_many(documents, ordered=False, session=session)
        if superseded:
            await db[MEASUREMENTS].update_many(
                {"_id": {"$in": superseded}}, {"$set": {"followup_pending": False}},
                session=session,
            )

    # Overlap: the database stores the measurements while this process folds the batch (the
    # fold does no I/O, so the session is never used by two operations at once).
    writing = asyncio.ensure_future(store_measurements())
    await asyncio.sleep(0)  # hand the insert to the driver before the fold holds the loop
    try:
        cells = fold_batch(tenant, stored_new, history)
        persona = persona_batch_delta(tenant, history, changed, interventions) if changed else {}
        cell_ops, persona_ops = cell_upserts(cells), persona_upserts(persona)
    except BaseException:
        with contextlib.suppress(Exception):
            await writing
        raise
    await writing
    if cell_ops:
        await db[CELLS].bulk_write(cell_ops, ordered=False, session=session)
        await touch_projection(db, session)
    if persona_ops:
        await db[PERSONA].bulk_write(persona_ops, ordered=False, session=session)
    return len(documents), events
