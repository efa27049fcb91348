"""The additive counters of one cell (aggregate or persona) and their arithmetic.

`Accumulator` is a cell's value, a contribution or a delta. The folds work on two cheaper
forms: `Flat` (the counters as a list in `COUNTERS` order, plus the moves) and `Sparse` (only
the non-zero counters, with their positions); `from_flat` turns sums back into accumulators.
Sums are kept in hundredths as integers, so that add-then-remove is exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from effect_measurement.domain.scales import Outcome

K = TypeVar("K")  # a cell key type: `keys.CellKey`, `keys.PersonaKey` or their raw forms

COUNTERS = (
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
# Counters that can never go below zero (the change sum can).
_COUNTS = tuple(name for name in COUNTERS if name != "change_sum_centi")

# Positions of the counters in the flat and sparse forms (`COUNTERS` order).
MEASURED, BASELINE_ONLY = 0, 1
OUTCOME_INDEX = {Outcome.IMPROVED: 2, Outcome.SAME: 3, Outcome.WORSE: 4}
BASELINE_COUNT, BASELINE_SUM, CHANGE_COUNT, CHANGE_SUM = 5, 6, 7, 8


def centi(value: float) -> int:
    return round(value * 100)


@dataclass(slots=True)
class Accumulator:
    """Additive counters of one cell; also the shape of a contribution or a delta."""

    measured: int = 0
    baseline_only: int = 0
    improved: int = 0
    same: int = 0
    worse: int = 0
    baseline_count: int = 0
    baseline_sum_centi: int = 0
    change_count: int = 0
    change_sum_centi: int = 0
    transitions: Mapping[str, int] = field(default_factory=dict)  # "2>4" -> count

    @property
    def mean_baseline(self) -> float | None:
        return self.baseline_sum_centi / 100 / self.baseline_count if self.baseline_count else None

    @property
    def mean_change(self) -> float | None:
        return self.change_sum_centi / 100 / self.change_count if self.change_count else None

    def outcome_count(self, outcome: Outcome) -> int:
        return int(getattr(self, outcome.value))

    def is_zero(self) -> bool:
        return all(getattr(self, name) == 0 for name in COUNTERS) and not any(
            self.transitions.values()
        )

    def combined(self, other: Accumulator, sign: int = 1) -> Accumulator:
        values = {name: getattr(self, name) + sign * getattr(other, name) for name in COUNTERS}
        moves = dict(self.transitions)
        for move, count in other.transitions.items():
            moves[move] = moves.get(move, 0) + sign * count
        return Accumulator(**values, transitions={k: v for k, v in moves.items() if v != 0})

    def negated(self) -> Accumulator:
        values = {name: -getattr(self, name) for name in COUNTERS}
        return Accumulator(**values, transitions={k: -v for k, v in self.transitions.items()})

    def as_increments(self) -> dict[str, int]:
        """Flat field -> amount, for one ``$inc`` per cell (transitions as ``transitions.2>4``)."""
        result = {name: getattr(self, name) for name in COUNTERS if getattr(self, name)}
        result.update({f"transitions.{k}": v for k, v in self.transitions.items() if v})
        return result

    @classmethod
    def from_document(cls, document: Mapping[str, object]) -> Accumulator:
        values = {name: int(str(document.get(name, 0) or 0)) for name in COUNTERS}
        raw = document.get("transitions") or {}
        moves = {str(k): int(str(v)) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        return cls(**values, transitions=moves)


def apply(accumulator: Accumulator, contribution: Accumulator) -> Accumulator:
    return accumulator.combined(contribution)


def remove(accumulator: Accumulator, contribution: Accumulator) -> Accumulator:
    """Subtract a contribution; a negative count means it was never added: refuse."""
    result = accumulator.combined(contribution, sign=-1)
    negative = [name for name in _COUNTS if getattr(result, name) < 0]
    if negative or any(v < 0 for v in result.transitions.values()):
        raise ValueError(
            f"contribution was not part of the accumulator: {negative or 'transitions'}"
        )
    return result


#: A contribution in flat form: counters in ``COUNTERS`` order, and its transitions.
Flat = tuple[list[int], dict[str, int] | None]
#: A contribution as its non-zero counters: ((counter position, amount), ...), and its move.
Sparse = tuple[tuple[tuple[int, int], ...], str | None]


def add_flat(
    sums: dict[K, Flat], key: K, counts: Sequence[int], moves: Mapping[str, int] | None, sign: int
) -> None:
    """``sums[key] += sign * (counts, moves)``."""
    current = sums.get(key)
    if current is None:
        current = sums[key] = ([0] * len(COUNTERS), None)
    values = current[0]
    for index, amount in enumerate(counts):
        if amount:
            values[index] += sign * amount
    if moves:
        bucket = current[1]
        if bucket is None:
            bucket = {}
            sums[key] = (values, bucket)
        for move, count in moves.items():
            bucket[move] = bucket.get(move, 0) + sign * count


def add_all_flat(sums: dict[K, Flat], cells: Mapping[K, Flat], sign: int) -> None:
    """``sums += sign * cells``."""
    for key, (counts, moves) in cells.items():
        add_flat(sums, key, counts, moves, sign)


def add_sparse(sums: dict[K, Flat], key: K, contribution: Sparse, sign: int) -> None:
    """``sums[key] += sign * contribution`` for a sparse contribution: the one arithmetic
    step of every fold."""
    counts, move = contribution
    current = sums.get(key)
    if current is None:
        current = sums[key] = ([0, 0, 0, 0, 0, 0, 0, 0, 0], None)
    values = current[0]
    for index, amount in counts:
        values[index] += sign * amount
    if move is not None:
        bucket = current[1]
        if bucket is None:
            bucket = {}
            sums[key] = (values, bucket)
        bucket[move] = bucket.get(move, 0) + sign


def from_flat(sums: Mapping[K, Flat]) -> dict[K, Accumulator]:
    """Flat sums as accumulators, leaving out cells whose sum is zero."""
    result: dict[K, Accumulator] = {}
    for key, (counts, moves) in sums.items():
        transitions = {m: c for m, c in moves.items() if c} if moves else {}
        if any(counts) or transitions:
            accumulator = Accumulator(transitions=transitions)
            for name, amount in zip(COUNTERS, counts, strict=True):
                setattr(accumulator, name, amount)
            result[key] = accumulator
    return result


def cell_delta(
    before: Mapping[K, Accumulator], after: Mapping[K, Accumulator]
) -> dict[K, Accumulator]:
    """``after - before`` per cell, leaving out cells that do not change."""
    result: dict[K, Accumulator] = {}
    for key, value in after.items():
        old = before.get(key)
        delta = value if old is None else value.combined(old, sign=-1)
        if not delta.is_zero():
            result[key] = delta
    for key, old in before.items():
        if key not in after:
            result[key] = old.negated()
    return result


def fold_deltas(deltas: Iterable[Mapping[K, Accumulator]]) -> dict[K, Accumulator]:
    sums: dict[K, Flat] = {}
    for delta in deltas:
        for key, value in delta.items():
            add_flat(sums, key, [getattr(value, name) for name in COUNTERS], value.transitions, 1)
    return from_flat(sums)


def apply_deltas(
    projection: Mapping[K, Accumulator], deltas: Mapping[K, Accumulator]
) -> dict[K, Accumulator]:
    """In-memory twin of the repositories' ``$inc`` bulk write (tests, the demo, fakes)."""
    result = dict(projection)
    for key, delta in deltas.items():
        value = result.get(key, Accumulator()).combined(delta)
        if value.is_zero():
            result.pop(key, None)
        else:
            result[key] = value
    return result
