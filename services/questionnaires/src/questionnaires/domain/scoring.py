"""Scores at submit: each dimension on a common 0-10 scale, banded into phases or levels.

The result is what the `response_submitted` event carries: codes and numbers, never free text.
Only enabled, answered items count; skipped (sensitive) items are left out of the mean rather
than counted as zero, so skipping does not lower a score.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import Band, InstrumentDefinition, Item, Outcome, ScoringRule
from questionnaires.domain.enable_when import enabled_link_ids

DECIMALS = 2


class DimensionScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    dimension: str
    # None when no item of the dimension was answered (all skipped or disabled).
    score: float | None
    answered: int
    items: int
    outcome: Outcome
    phase: int | None = None
    level: int | None = None


class ScoreResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    instrument_id: str
    family: str
    variant: str
    version: int
    dimension_scores: tuple[DimensionScore, ...]
    phases: dict[str, int]
    levels: dict[str, int]
    answered_count: int
    skipped_count: int
    discussable_count: int
    # Dimension codes of the "I want to talk about this" items, to steer the conversation.
    discussable_dimensions: tuple[str, ...]

    def score_of(self, dimension: str) -> float | None:
        return next((d.score for d in self.dimension_scores if d.dimension == dimension), None)


def score_response(
    definition: InstrumentDefinition, answers: Mapping[str, ItemAnswer]
) -> ScoreResult:
    enabled = enabled_link_ids(definition, answers)
    live = {k: a for k, a in answers.items() if k in enabled}
    dimension_scores = tuple(_score_rule(definition, rule, live) for rule in definition.scoring)
    discussable_dims: list[str] = []
    for item in definition.items():
        answer = live.get(item.link_id)
        if (
            answer
            and answer.discussable
            and item.dimension
            and item.dimension not in discussable_dims
        ):
            discussable_dims.append(item.dimension)
    return ScoreResult(
        instrument_id=definition.id,
        family=definition.family,
        variant=definition.variant,
        version=definition.version,
        dimension_scores=dimension_scores,
        phases={d.dimension: d.phase for d in dimension_scores if d.phase is not None},
        levels={d.dimension: d.level for d in dimension_scores if d.level is not None},
        answered_count=sum(1 for a in live.values() if a.has_value),
        skipped_count=sum(1 for a in live.values() if a.skipped),
        discussable_count=sum(1 for a in live.values() if a.discussable),
        discussable_dimensions=tuple(discussable_dims),
    )


def _score_rule(
    definition: InstrumentDefinition, rule: ScoringRule, answers: Mapping[str, ItemAnswer]
) -> DimensionScore:
    raw: list[tuple[float, float, float]] = []  # (value, low, high), reverse-scoring applied
    for link_id in rule.items:
        item = definition.item(link_id)
        answer = answers.get(link_id)
        if item is None or answer is None or not answer.has_value:
            continue
        point = item_raw_score(item, answer.value)
        if point is not None:
            raw.append(point)
    score: float | None = None
    if raw:
        if rule.method == "mean":
            score = sum((v - lo) / (hi - lo) * 10 for v, lo, hi in raw) / len(raw)
        else:
            # Sum over the answered items, mapped from [sum of minima, sum of maxima] to 0-10.
            low, high = sum(p[1] for p in raw), sum(p[2] for p in raw)
            score = (sum(p[0] for p in raw) - low) / (high - low) * 10
        score = round(min(10.0, max(0.0, score)), DECIMALS)
    band = band_value(rule.bands, score) if score is not None and rule.bands else None
    return DimensionScore(
        dimension=rule.dimension,
        score=score,
        answered=len(raw),
        items=len(rule.items),
        outcome=rule.outcome,
        phase=band if rule.outcome == "phase" else None,
        level=band if rule.outcome == "level" else None,
    )


def item_raw_score(item: Item, value: object) -> tuple[float, float, float] | None:
    """(value, lowest, highest) on the item's own scale, reversed if the item says so."""
    point: tuple[float, float, float] | None = None
    if item.answer_type == "scale_0_10" and isinstance(value, int) and not isinstance(value, bool):
        point = (float(value), 0.0, 10.0)
    elif item.answer_type == "yes_no" and isinstance(value, bool):
        point = (1.0 if value else 0.0, 0.0, 1.0)
    elif (
        item.answer_type == "number"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and item.min_value is not None
        and item.max_value is not None
    ):
        point = (float(value), item.min_value, item.max_value)
    elif item.answer_type == "single_choice" and isinstance(value, str):
        option = item.option(value)
        scores = [o.score for o in item.options if o.score is not None]
        if option is not None and option.score is not None and scores:
            point = (option.score, min(scores), max(scores))
    if point is None or point[2] <= point[1]:
        return None
    v, lo, hi = point
    return (hi + lo - v, lo, hi) if item.reverse_scored else point


def band_value(bands: tuple[Band, ...], score: float) -> int:
    value = bands[0].value
    for band in bands:
        if score >= band.min:
            value = band.value
    return value


__all__ = ["DimensionScore", "ScoreResult", "band_value", "item_raw_score", "score_response"]
