"""Mapping between domain values and stored documents (no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pymongo import UpdateOne

from effect_measurement.domain.aggregates import Accumulator, CellKey
from effect_measurement.domain.inputs import InstrumentKind, MeasurementInput
from effect_measurement.domain.periods import Period, parse_period
from effect_measurement.domain.persona import PersonaKey
from effect_measurement.domain.profiles import UNKNOWN, Profile
from effect_measurement.domain.trajectories import NO_ORGANISATION, StoredMeasurement

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


@lru_cache(maxsize=65536)  # ingestion asks twice per measurement, and again per follow-up
def trajectory_id(person_id: str, organisation: str | None, family: str) -> str:
    """Opaque id of a person's trajectory with one organisation and instrument family.

    One follow-up invitation covers the whole instrument, so the id FollowupDue carries is
    person × organisation × family (the domain's per-track trajectories live inside it).
    Hashed so that an id carries no person id.
    """
    raw = f"{person_id}|{organisation or NO_ORGANISATION}|{family}"
    return "tr-" + hashlib.sha256(raw.encode()).hexdigest()[:32]


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


def profile_from_document(doc: Mapping[str, Any]) -> Profile:
    return Profile(
        doc["_id"],
        doc.get("neighbourhood_code", UNKNOWN),
        doc.get("age_band", UNKNOWN),
        doc.get("household_type", UNKNOWN),
    )


# nx-27017 quirk: an upsert that inserts with `$inc` on "transitions.2>4" stores a literal
# dotted key instead of a nested one (later updates nest), so transitions are flat fields.
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
    """One `$inc` upsert per changed cell (the adapter twin of `aggregates.apply_deltas`)."""
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
