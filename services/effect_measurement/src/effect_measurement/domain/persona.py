"""Persona feedback loop: outcome change by coarse profile x intervention type.

Per trajectory, dimension and year a person contributes their latest follow-up of that year
(against the baseline) once for every intervention type they had between baseline and that
follow-up (``none`` when they had none), under each profile attribute (the snapshot of that
follow-up). Contributions are a pure function of the person's stored data (``fold``), so the
delta method keeps the projection incremental and erasable. The report: ``persona_report``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from effect_measurement.domain.accumulator import Accumulator, Flat, add_all_flat, from_flat
from effect_measurement.domain.fold import persona_batch_delta, persona_contributions
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.keys import PersonaKey, RawPersona, persona_key
from effect_measurement.domain.trajectories import StoredMeasurement

#: Per person: (measurements before, measurements after).
Histories = Mapping[str, tuple[Sequence[StoredMeasurement], Sequence[StoredMeasurement]]]


def persona_keys(tenant: str, sums: Mapping[RawPersona, Flat]) -> dict[PersonaKey, Accumulator]:
    """Raw-keyed flat sums as persona cells, leaving out zero sums."""
    return {persona_key(tenant, raw): value for raw, value in from_flat(sums).items()}


def persona_cells(
    tenant: str,
    measurements: Iterable[StoredMeasurement],
    interventions: Iterable[InterventionInput],
) -> dict[PersonaKey, Accumulator]:
    """All persona contributions of one person (the general fold)."""
    return persona_keys(tenant, persona_contributions(measurements, interventions))


def persona_delta(
    tenant: str,
    measurements: Histories,
    interventions: Mapping[str, Sequence[InterventionInput]],
    interventions_after: Mapping[str, Sequence[InterventionInput]] | None = None,
) -> dict[PersonaKey, Accumulator]:
    """Per person: cells(after) - cells(before), whole histories (erasure, a recorded
    intervention); ``interventions_after`` when those changed."""
    after_ivs = interventions_after if interventions_after is not None else interventions
    sums: dict[RawPersona, Flat] = {}
    for person, (before, after) in measurements.items():
        add_all_flat(sums, persona_contributions(after, after_ivs.get(person, ())), 1)
        add_all_flat(sums, persona_contributions(before, interventions.get(person, ())), -1)
    return persona_keys(tenant, sums)


def persona_fold(
    tenant: str,
    history: Mapping[str, Sequence[StoredMeasurement]],
    new: Mapping[str, Sequence[StoredMeasurement]],
    interventions: Mapping[str, Sequence[InterventionInput]],
) -> dict[PersonaKey, Accumulator]:
    """Persona deltas of adding ``new`` measurements (per person) to their ``history``; only
    the years the new measurements can change are computed (``fold``)."""
    sums: dict[RawPersona, Flat] = {}
    persona_batch_delta(sums, history, new, interventions)
    return persona_keys(tenant, sums)
