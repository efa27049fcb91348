"""Usage figures per module, per professional and per organisation: enrolments, completions,
median time to complete, drop-off per step — with small-cell suppression (k from the tenant's
policy), joined with survey results (technology acceptance, client satisfaction).

Figures are computed from usage facts: one per enrolment (what it contributes, no resident
id). A live enrolment yields its fact on the fly; when a resident is erased, their
enrolments are replaced by their facts (`UsageFact.of`) stored without any link to them, so
the figures stay the same after an erasure.

Suppression: a count below k (and above 0) is not shown, nor anything derived from it (the
median, the drop-off of that row); where exactly one cell of a row group would be
suppressed while its total is shown, the next smallest is suppressed too, so the total
cannot give it away.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from learning_paths.domain.content import Frozen
from learning_paths.domain.enrolment import Enrolment

DEFAULT_K = 10
MINIMUM_K = 5


def clamp_k(k: int) -> int:
    return max(MINIMUM_K, min(int(k), 1000))


class UsageFact(Frozen):
    """What one enrolment contributes to the figures (no resident, no enrolment id)."""

    content_id: str
    version: int
    organisation: str | None = None  # assigning organisation
    professional: str | None = None  # who assigned it (a staff member's id)
    started: bool
    completed: bool
    seconds_to_complete: float | None = None
    completed_steps: tuple[str, ...] = ()
    created_at: datetime

    @classmethod
    def of(cls, enrolment: Enrolment) -> UsageFact:
        seconds = None
        if enrolment.completed_at and enrolment.started_at:
            seconds = (enrolment.completed_at - enrolment.started_at).total_seconds()
        assignment = enrolment.assignment
        return cls(
            content_id=enrolment.content_id,
            version=enrolment.version,
            organisation=assignment.organisation if assignment else None,
            professional=assignment.assigned_by if assignment else None,
            started=enrolment.status != "not_started",
            completed=enrolment.status == "completed",
            seconds_to_complete=seconds,
            completed_steps=tuple(s.step_id for s in enrolment.steps),
            created_at=enrolment.created_at,
        )


@dataclass
class Row:
    key: str
    enrolments: int = 0
    started: int = 0
    completions: int = 0
    durations: list[float] = field(default_factory=list)
    reached: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, fact: UsageFact) -> None:
        self.enrolments += 1
        self.started += int(fact.started)
        self.completions += int(fact.completed)
        if fact.seconds_to_complete is not None:
            self.durations.append(fact.seconds_to_complete)
        for step in fact.completed_steps:
            self.reached[step] += 1


@dataclass(frozen=True)
class SurveyCell:
    family: str
    dimension: str
    count: int | None  # None when suppressed (fewer than k answers)
    mean: float | None


@dataclass(frozen=True)
class PublishedRow:
    key: str
    enrolments: int | None
    completions: int | None
    median_days_to_complete: float | None
    drop_off: dict[str, int | None]  # step → enrolments that stopped after it
    suppressed: bool
    surveys: list[SurveyCell] = field(default_factory=list)


def group(facts: Iterable[UsageFact], by: str) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for fact in facts:
        key = {
            "module": fact.content_id,
            "professional": fact.professional or "self",
            "organisation": fact.organisation or "self",
        }[by]
        rows.setdefault(key, Row(key)).add(fact)
    return rows


def _small(count: int, k: int) -> bool:
    return 0 < count < k


def suppressed_keys(rows: Mapping[str, Row], k: int) -> set[str]:
    """Primary: rows with fewer than k enrolments; complementary: never exactly one
    suppressed row while the total is published."""
    hidden = {key for key, row in rows.items() if _small(row.enrolments, k)}
    if len(hidden) == 1 and len(rows) > 1:
        rest = sorted((row.enrolments, key) for key, row in rows.items() if key not in hidden)
        hidden.add(rest[0][1])
    return hidden


def drop_off(row: Row, steps: Sequence[str], k: int) -> dict[str, int | None]:
    """Per step: how many started enrolments reached this step but not the next (the last
    step's value: reached it but did not complete); cells below k are suppressed."""
    out: dict[str, int | None] = {}
    for n, step in enumerate(steps):
        here = row.reached.get(step, 0)
        following = row.reached.get(steps[n + 1], 0) if n + 1 < len(steps) else row.completions
        value = max(here - following, 0)
        out[step] = None if _small(value, k) else value
    return out


def publish(
    rows: Mapping[str, Row],
    k: int,
    *,
    steps_of: Mapping[str, Sequence[str]] | None = None,
    surveys: Mapping[str, list[SurveyCell]] | None = None,
) -> tuple[list[PublishedRow], dict[str, int | None]]:
    """The published rows and totals. `steps_of`: the module's steps (drop-off per step),
    given for rows that are modules."""
    hidden = suppressed_keys(rows, k)
    published: list[PublishedRow] = []
    for key in sorted(rows):
        row = rows[key]
        cells = (surveys or {}).get(key, [])
        if key in hidden:
            published.append(PublishedRow(key, None, None, None, {}, True, cells))
            continue
        completions = None if _small(row.completions, k) else row.completions
        median = (
            round(statistics.median(row.durations) / 86_400, 2)
            if completions is not None and len(row.durations) >= k
            else None
        )
        steps = (steps_of or {}).get(key, ())
        published.append(
            PublishedRow(
                key,
                row.enrolments,
                completions,
                median,
                drop_off(row, steps, k) if steps else {},
                False,
                cells,
            )
        )
    total = sum(r.enrolments for r in rows.values())
    completed = sum(r.completions for r in rows.values())
    totals: dict[str, int | None] = {
        "enrolments": None if _small(total, k) else total,
        "completions": None if _small(completed, k) else completed,
    }
    return published, totals


def survey_cells(sums: Mapping[tuple[str, str], tuple[float, int]], k: int) -> list[SurveyCell]:
    """(family, dimension) → (sum, count) as published cells (mean hidden below k)."""
    cells = []
    for (family, dimension), (total, count) in sorted(sums.items()):
        shown = count >= k
        cells.append(
            SurveyCell(
                family,
                dimension,
                count if shown else None,
                round(total / count, 2) if shown else None,
            )
        )
    return cells
