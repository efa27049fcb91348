"""Aggregates as incrementally updatable projections: the cell-level view of the fold.

A person's contributions are a pure function of their stored measurements (``person_cells``,
see ``fold`` for what a person counts as in which cell). Every change to a person (a new
measurement, a late one, erasure) is applied as ``person_cells(after) - person_cells(before)``,
so the projection is always exactly the sum over persons of ``person_cells``, and erasure
subtracts what was added. ``fold_batch`` gives one dict of cell deltas for a whole batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from effect_measurement.domain.accumulator import Accumulator, Flat, cell_delta, from_flat
from effect_measurement.domain.fold import (
    add_person_delta,
    by_person,
    cell_contributions,
    fold_into,
)
from effect_measurement.domain.keys import CellKey, RawCell, cell_key
from effect_measurement.domain.trajectories import StoredMeasurement


def cells_of(tenant: str, sums: Mapping[RawCell, Flat]) -> dict[CellKey, Accumulator]:
    """Folded sums as cell deltas, leaving out cells that do not change."""
    return {cell_key(tenant, raw): value for raw, value in from_flat(sums).items()}


def person_cells(
    tenant: str, measurements: Iterable[StoredMeasurement]
) -> dict[CellKey, Accumulator]:
    """All contributions of one person, derived from their stored measurements only."""
    return cells_of(tenant, cell_contributions(measurements))


def measurement_delta(
    tenant: str, history: Sequence[StoredMeasurement], new: Iterable[StoredMeasurement]
) -> dict[CellKey, Accumulator]:
    """Cell deltas of adding ``new`` measurements to one person's ``history``."""
    sums: dict[RawCell, Flat] = {}
    add_person_delta(sums, history, list(new), cell_contributions)
    return cells_of(tenant, sums)


def erasure_delta(tenant: str, history: Sequence[StoredMeasurement]) -> dict[CellKey, Accumulator]:
    """Cell deltas that take a person out of every aggregate."""
    return cell_delta(person_cells(tenant, history), {})


def fold_batch(
    tenant: str,
    batch: Iterable[StoredMeasurement],
    history: Mapping[str, Sequence[StoredMeasurement]],
) -> dict[CellKey, Accumulator]:
    """One dict of cell deltas for a batch (one ``$inc`` bulk write); ``history`` per person.

    Equal to summing ``person_cells(history + new) - person_cells(history)`` over the batch's
    persons, but both sides are added straight into one sum, on raw keys, and through the
    fold's fast paths where they apply."""
    sums: dict[RawCell, Flat] = {}
    fold_into(sums, by_person(batch), history)
    return cells_of(tenant, sums)
