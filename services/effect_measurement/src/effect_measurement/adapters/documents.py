"""Mapping between domain values and stored documents (no I/O).

Stored date-times and booleans are read through `wijkkracht_common.storage` (`stored_datetime`,
`stored_bool`), which give the same value whichever engine stored them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from pymongo import UpdateOne
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.storage import stored_bool, stored_datetime

from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.followups import WaitingMeasurement
from effect_measurement.domain.inputs import (
    InstrumentKind,
    InterventionInput,
    InterventionSource,
    MeasurementInput,
)
from effect_measurement.domain.keys import CellKey, PersonaKey
from effect_measurement.domain.periods import Period, parse_period
from effect_measurement.domain.profiles import UNKNOWN, Profile
from effect_measurement.domain.trajectories import Goal, StoredMeasurement

_MEASUREMENT_FIELDS = (
    "person_id",
    "organisation",
    "instrument_id",
    "family",
    "variant",
    "version",
    "submitted_at",
    "dimension_scores",
    "phases",
    "levels",
    "skipped_count",
    "discussable_count",
)


def measurement_document(
    stored: StoredMeasurement, *, trajectory: str, sequence: int, event_id: str, pending: bool
) -> dict[str, Any]:
    data = stored.measurement
    doc: dict[str, Any] = {name: getattr(data, name) for name in _MEASUREMENT_FIELDS}
    doc.update(
        _id=data.response_id,
        kind=data.kind.value,
        neighbourhood=stored.neighbourhood,
        age_band=stored.age_band,
        household_type=stored.household_type,
        trajectory_id=trajectory,
        sequence=sequence,
        followup_pending=pending,
        event_id=event_id,
    )
    return doc


def stored_from_document(doc: Mapping[str, Any]) -> StoredMeasurement:
    # Trusted data written by this service: skip validation on the hot path.
    values: dict[str, Any] = {name: doc.get(name) for name in _MEASUREMENT_FIELDS}
    data = MeasurementInput.model_construct(
        response_id=doc["_id"], kind=InstrumentKind(doc["kind"]), **values
    )
    return StoredMeasurement(
        data,
        doc.get("neighbourhood", UNKNOWN),
        doc.get("age_band", UNKNOWN),
        doc.get("household_type", UNKNOWN),
    )


def waiting_from_document(doc: Mapping[str, Any]) -> WaitingMeasurement:
    return WaitingMeasurement(
        measurement_id=doc["_id"],
        trajectory_id=doc["trajectory_id"],
        person_id=doc["person_id"],
        organisation=doc.get("organisation"),
        instrument_id=doc["instrument_id"],
        family=doc["family"],
        sequence=int(doc["sequence"]),
        submitted_at=_datetime(doc["submitted_at"]),
    )


def _datetime(value: Any) -> datetime:
    found = stored_datetime(value)
    if found is None:
        raise ValueError("a stored date-time is missing")
    return found


def profile_from_document(doc: Mapping[str, Any]) -> Profile:
    changed = doc.get("changed_at") or {}
    return Profile(
        doc["_id"],
        doc.get("neighbourhood_code", UNKNOWN),
        doc.get("age_band", UNKNOWN),
        doc.get("household_type", UNKNOWN),
        {name: at for name, value in changed.items() if (at := stored_datetime(value))},
    )


def profile_fields(profile: Profile, at: datetime) -> dict[str, Any]:
    # `changed_at` is a sub-document: nx-27017 keeps datetimes nested in a `$set` as dates
    return {
        "neighbourhood_code": profile.neighbourhood_code,
        "age_band": profile.age_band,
        "household_type": profile.household_type,
        "changed_at": dict(profile.changed_at),
        "updated_at": at,
    }


def legacy_consent_states(docs: Iterable[Mapping[str, Any]]) -> list[ConsentState]:
    """The service's former consent documents as states of the platform's projection: no
    version was known then (0: ordered by the decision's time)."""
    return [
        ConsentState(
            person_id=str(doc["person_id"]),
            organisation=str(doc["organisation"]),
            purpose=str(doc["purpose"]),
            granted=stored_bool(doc.get("granted")),
            version=0,
            at=_datetime(doc["at"]),
        )
        for doc in docs
    ]


def goal_document(person: str, trajectory: str, goal: Goal, goal_id: str) -> dict[str, Any]:
    return {
        "_id": goal_id,
        "person_id": person,
        "trajectory_id": trajectory,
        "dimension": goal.dimension,
        "target": goal.target,
        "set_by_role": goal.set_by_role,
        "set_by": goal.set_by,
        "set_at": goal.set_at,
    }


def goal_from_document(doc: Mapping[str, Any]) -> Goal:
    return Goal(
        doc["dimension"], doc["target"], doc["set_by_role"], doc["set_by"], _datetime(doc["set_at"])
    )


def intervention_document(item: InterventionInput) -> dict[str, Any]:
    return {
        "_id": item.intervention_id,
        "person_id": item.person_id,
        "type": item.type,
        "occurred_at": item.occurred_at,
        "organisation": item.organisation,
        "source": item.source,
    }


def _former_source(intervention_id: str) -> InterventionSource:
    """The source of an intervention stored before it was kept: the consumers' ids name it."""
    if intervention_id.startswith("learning_paths:"):
        return "learning_paths"
    if intervention_id.startswith("marketplace:"):
        return "marketplace"
    return "recorded"


def intervention_from_document(doc: Mapping[str, Any]) -> InterventionInput:
    return InterventionInput(
        intervention_id=doc["_id"],
        person_id=doc["person_id"],
        type=doc["type"],
        occurred_at=_datetime(doc["occurred_at"]),
        organisation=doc.get("organisation"),
        source=doc.get("source") or _former_source(doc["_id"]),
    )


# Storage layout: transitions are flat `move_<from>_<to>` counters, not a nested document.
# The embedded nx-27017 stores an upsert that inserts with `$inc` on "transitions.2>4" as a
# literal dotted key (later updates nest), so a nested layout would read differently there.
_MOVE = "move_"


def _increments(delta: Accumulator) -> dict[str, int]:
    flat: dict[str, int] = {}
    for name, amount in delta.as_increments().items():
        if name.startswith("transitions."):
            frm, to = name.removeprefix("transitions.").split(">")
            name = f"{_MOVE}{frm}_{to}"
        flat[name] = amount
    return flat


_COUNTER_FIELDS = (
    "measured",
    "baseline_only",
    "improved",
    "same",
    "worse",
    "baseline_count",
    "baseline_sum_centi",
    "change_count",
    "change_sum_centi",
)


def accumulator_from_document(doc: Mapping[str, Any]) -> Accumulator:
    # Reports decode thousands of cells per query: no intermediate documents.
    get = doc.get
    moves = {  # a move counted and later subtracted (erasure, late data) is stored as 0
        k[len(_MOVE) :].replace("_", ">"): int(v) for k, v in doc.items() if k[:5] == _MOVE and v
    }
    accumulator = Accumulator(transitions=moves)
    for name in _COUNTER_FIELDS:
        value = get(name)
        if value:
            setattr(accumulator, name, int(value))
    return accumulator


def cell_upserts(deltas: Mapping[CellKey, Accumulator]) -> list[UpdateOne]:
    """One `$inc` upsert per changed cell (the stored twin of `accumulator.apply_deltas`)."""
    return [
        UpdateOne(
            {"_id": key.as_id()},
            {
                "$inc": _increments(delta),
                "$setOnInsert": {
                    "organisation": key.organisation,
                    "neighbourhood": key.neighbourhood,
                    "family": key.family,
                    "dimension": key.dimension,
                    "period": key.period.label,
                },
            },
            upsert=True,
        )
        for key, delta in deltas.items()
    ]


def cell_from_document(tenant: str, doc: Mapping[str, Any]) -> tuple[CellKey, Accumulator] | None:
    label = doc.get("period")
    period = _period(label) if isinstance(label, str) else None
    if period is None:
        return None
    key = CellKey(
        tenant, doc["organisation"], doc["neighbourhood"], doc["family"], doc["dimension"], period
    )
    return key, accumulator_from_document(doc)


@lru_cache(maxsize=4096)
def _period(label: str) -> Period | None:
    return parse_period(label)


def persona_id(key: PersonaKey) -> str:
    return "|".join(
        (key.family, key.dimension, key.year.label, key.attribute, key.value, key.intervention_type)
    )


def persona_upserts(deltas: Mapping[PersonaKey, Accumulator]) -> list[UpdateOne]:
    return [
        UpdateOne(
            {"_id": persona_id(key)},
            {
                "$inc": _increments(delta),
                "$setOnInsert": {
                    "family": key.family,
                    "dimension": key.dimension,
                    "year": key.year.label,
                    "attribute": key.attribute,
                    "value": key.value,
                    "intervention_type": key.intervention_type,
                },
            },
            upsert=True,
        )
        for key, delta in deltas.items()
    ]


def persona_from_document(
    tenant: str, doc: Mapping[str, Any]
) -> tuple[PersonaKey, Accumulator] | None:
    year = parse_period(str(doc.get("year", "")))
    if year is None:
        return None
    key = PersonaKey(
        tenant,
        doc["family"],
        doc["dimension"],
        year,
        doc["attribute"],
        doc["value"],
        doc["intervention_type"],
    )
    return key, accumulator_from_document(doc)
