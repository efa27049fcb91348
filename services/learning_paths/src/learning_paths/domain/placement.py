"""Placement: a resident enters a long path at the step that fits the level measured.

The tenant keeps rules (instrument family, theme, phase range or score band → path and
entry point). A measurement (or, for an instrument without phases, a response) is matched
against them; the resident sees the suggested step with the reason in plain words, may
start elsewhere, and a professional may override — every choice is recorded.

"I don't know" never places higher: a theme the response gives no phase (or score) for —
not answered, "I don't know", skipped — matches no rule, so it places nobody; and a phase
outside 1..5 counts as unknown. Where several rules match one path, the lowest entry wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator
from wijkkracht_common.texts import Text

from learning_paths.domain.content import CODE, SLUG, Frozen

PlacementSource = Literal["measurement", "response", "professional"]
PlacementStatus = Literal["suggested", "started", "started_elsewhere", "overridden"]

PHASE_NAMES: dict[int, Text] = {
    1: Text("u bent zich er nog niet van bewust", "you are not yet aware of it"),
    2: Text("u weet dat er iets speelt", "you know something is going on"),
    3: Text("u zoekt uit wat u kunt doen", "you are finding out what you can do"),
    4: Text("u bent ermee aan de slag", "you are working on it"),
    5: Text("u houdt het al een tijd vol", "you have kept it up for a while"),
}


class PlacementRule(Frozen):
    """Instrument family + theme + (phase range or score band) → path entry point."""

    id: str = Field(pattern=SLUG.pattern)
    family: str = Field(pattern=CODE.pattern)
    theme: str = Field(pattern=CODE.pattern)
    phase_min: int | None = Field(default=None, ge=1, le=5)
    phase_max: int | None = Field(default=None, ge=1, le=5)
    score_min: float | None = Field(default=None, ge=0, le=10)
    score_max: float | None = Field(default=None, ge=0, le=10)
    path_id: str = Field(min_length=1, max_length=100)
    entry_point: str = Field(pattern=SLUG.pattern)

    @model_validator(mode="after")
    def _one_band(self) -> PlacementRule:
        phases = self.phase_min is not None or self.phase_max is not None
        scores = self.score_min is not None or self.score_max is not None
        if phases == scores:
            raise ValueError("give a phase range (phase_min/max) or a score band (score_min/max)")
        low, high = (self.phase_min, self.phase_max) if phases else (self.score_min, self.score_max)
        if low is not None and high is not None and low > high:
            raise ValueError("the band's minimum is above its maximum")
        return self

    @property
    def on_phase(self) -> bool:
        return self.phase_min is not None or self.phase_max is not None

    def matches(self, phase: int | None, score: float | None) -> bool:
        if self.on_phase:
            if phase is None:
                return False
            return (self.phase_min or 1) <= phase <= (self.phase_max or 5)
        if score is None:
            return False
        high = self.score_max if self.score_max is not None else 10.0
        return (self.score_min or 0.0) <= score <= high


class ResponseFacts(Frozen):
    """What placement needs of a scored response (from `response_submitted`): codes and
    numbers only."""

    response_id: str
    person_id: str
    family: str
    instrument_id: str
    submitted_at: datetime
    phases: dict[str, int] = {}
    dimension_scores: dict[str, float] = {}
    measurement_id: str | None = None

    @property
    def has_phases(self) -> bool:
        return bool(self.phases)

    def phase_of(self, theme: str) -> int | None:
        value = self.phases.get(theme)
        return value if value is not None and 1 <= value <= 5 else None

    def score_of(self, theme: str) -> float | None:
        value = self.dimension_scores.get(theme)
        return value if value is not None and 0.0 <= value <= 10.0 else None


@dataclass(frozen=True)
class PathEntry:
    """What placement needs to know of a published path: its entry points' items, steps
    and titles."""

    path_id: str
    title: str
    entry_points: Mapping[str, tuple[int, str, str]]  # key → (item, first step id, step title)


@dataclass(frozen=True)
class Suggestion:
    rule: PlacementRule
    path_id: str
    entry_point: str
    item: int
    step_id: str
    theme: str
    phase: int | None
    score: float | None
    reason: Text


def reason_for(
    path: PathEntry, item: int, step_title: str, phase: int | None, score: float | None
) -> Text:
    if phase is not None:
        level = PHASE_NAMES[phase]
        measured_nl = f"Uit uw meting blijkt dat {level.nl} (fase {phase} van 5)."
        measured_en = f"Your measurement shows that {level.en} (phase {phase} of 5)."
    else:
        measured_nl = f"Uw score bij dit onderwerp is {score:.1f} van 10."
        measured_en = f"Your score on this subject is {score:.1f} out of 10."
    return Text(
        f"{measured_nl} Daarom raden we aan bij '{path.title}' te beginnen met stap {item}: "
        f"'{step_title}'. U mag ook ergens anders beginnen.",
        f"{measured_en} So we suggest starting '{path.title}' at step {item}: '{step_title}'. "
        "You may also start elsewhere.",
    )


def suggest(
    rules: Sequence[PlacementRule], facts: ResponseFacts, paths: Mapping[str, PathEntry]
) -> list[Suggestion]:
    """One suggestion per path: the matching rule with the lowest entry item. Rules on
    phases need phases; an instrument without phases is placed by score bands."""
    best: dict[str, Suggestion] = {}
    for rule in rules:
        if rule.family != facts.family:
            continue
        path = paths.get(rule.path_id)
        entry = path.entry_points.get(rule.entry_point) if path else None
        if path is None or entry is None:
            continue  # a rule naming a retired path or entry point places nobody
        phase = facts.phase_of(rule.theme) if rule.on_phase else None
        score = None if rule.on_phase else facts.score_of(rule.theme)
        if not rule.matches(phase, score):
            continue
        item, step_id, step_title = entry
        found = Suggestion(
            rule=rule,
            path_id=rule.path_id,
            entry_point=rule.entry_point,
            item=item,
            step_id=step_id,
            theme=rule.theme,
            phase=phase,
            score=score,
            reason=reason_for(path, item, step_title, phase, score),
        )
        current = best.get(rule.path_id)
        if current is None or found.item < current.item:
            best[rule.path_id] = found
    return [best[k] for k in sorted(best)]


class Choice(Frozen):
    """A choice recorded on a placement: the resident starting elsewhere, or a
    professional's override (with the organisation they act for)."""

    by: str
    role: Literal["resident", "professional"]
    organisation: str | None = None
    entry_step: str
    at: datetime


class Placement(Frozen):
    id: str
    person_id: str
    path_id: str
    entry_point: str
    step_id: str
    item: int
    theme: str | None = None
    phase: int | None = None
    score: float | None = None
    reason: Text
    source: PlacementSource
    rule_id: str | None = None
    measurement_id: str | None = None
    response_id: str | None = None
    placed_at: datetime
    status: PlacementStatus = "suggested"
    enrolment_id: str | None = None
    choices: tuple[Choice, ...] = ()

    @property
    def effective_step(self) -> str:
        """The step the resident starts at: the latest choice, else the suggestion."""
        return self.choices[-1].entry_step if self.choices else self.step_id


def placement_id(person_id: str, path_id: str) -> str:
    return f"{person_id}:{path_id}"


def rule_ids_unique(rules: Iterable[PlacementRule]) -> list[str]:
    seen: set[str] = set()
    duplicates: list[str] = []
    for rule in rules:
        if rule.id in seen:
            duplicates.append(rule.id)
        seen.add(rule.id)
    return duplicates
