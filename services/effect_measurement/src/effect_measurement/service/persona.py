"""Persona projection (profile × intervention type → outcome) kept by the delta method."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from wijkkracht_common.storage import Database, Session

from effect_measurement.adapters.schema import INTERVENTIONS
from effect_measurement.domain.aggregates import (
    Accumulator,
    Flat,
    Only,
    add_all_flat,
    add_person_delta,
)
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.persona import (
    PersonaKey,
    RawPersona,
    add_appended_persona_delta,
    persona_contributions,
    persona_keys,
)
from effect_measurement.domain.trajectories import StoredMeasurement, appends

Histories = Mapping[str, tuple[Sequence[StoredMeasurement], Sequence[StoredMeasurement]]]


async def load_interventions(
    db: Database[dict[str, Any]], persons: Sequence[str], session: Session | None = None
) -> dict[str, list[InterventionInput]]:
    result: dict[str, list[InterventionInput]] = defaultdict(list)
    async for doc in db[INTERVENTIONS].find({"person_id": {"$in": list(persons)}}, session=session):
        result[doc["person_id"]].append(
            InterventionInput(
                intervention_id=doc["_id"],
                person_id=doc["person_id"],
                type=doc["type"],
                occurred_at=doc["occurred_at"],
                organisation=doc.get("organisation"),
            )
        )
    return result


def persona_delta(
    tenant: str,
    measurements: Histories,
    interventions: Mapping[str, Sequence[InterventionInput]],
    interventions_after: Mapping[str, Sequence[InterventionInput]] | None = None,
) -> dict[PersonaKey, Accumulator]:
    """Per person: cells(after) − cells(before); `interventions_after` when those changed."""
    after_ivs = interventions_after if interventions_after is not None else interventions
    sums: dict[RawPersona, Flat] = {}
    for person, (before, after) in measurements.items():
        add_all_flat(sums, persona_contributions(after, after_ivs.get(person, ())), 1)
        add_all_flat(sums, persona_contributions(before, interventions.get(person, ())), -1)
    return persona_keys(tenant, sums)


def persona_batch_delta(
    tenant: str,
    history: Mapping[str, Sequence[StoredMeasurement]],
    new: Mapping[str, Sequence[StoredMeasurement]],
    interventions: Mapping[str, Sequence[InterventionInput]],
) -> dict[PersonaKey, Accumulator]:
    """Persona deltas of adding `new` measurements (per person) to their `history`; only
    the years the new measurements can change are computed (the appended fast path, or
    `appended_periods` for a late measurement)."""
    sums: dict[RawPersona, Flat] = {}
    for person, items in new.items():
        ivs = interventions.get(person, ())
        before = history.get(person, ())
        if appends(before, items):
            add_appended_persona_delta(sums, before, items, ivs)
            continue

        def contributions(
            ms: Sequence[StoredMeasurement], only: Only, ivs: Sequence[InterventionInput] = ivs
        ) -> dict[RawPersona, Flat]:
            return persona_contributions(ms, ivs, only)

        add_person_delta(sums, history.get(person, ()), items, contributions)
    return persona_keys(tenant, sums)
