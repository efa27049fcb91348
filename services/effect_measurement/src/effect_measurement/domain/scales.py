"""Scales of measured values and the documented thresholds for improved / same / worse.

Higher is better on every scale: phase 5 = maintaining new behaviour, level 5 = fully
self-sufficient, score 10 = best. A change counts as improved (worse) when the delta is at least
the scale's threshold upwards (downwards); smaller changes count as "same".
"""

from __future__ import annotations

from enum import StrEnum


class Scale(StrEnum):
    PHASE = "phase"  # effect monitor: behaviour-change phase per theme, 1..5
    LEVEL = "level"  # self-sufficiency matrix: level per life domain, 1..5
    SCORE = "score"  # 0..10 dimension scores of other measurement instruments


class Outcome(StrEnum):
    IMPROVED = "improved"
    SAME = "same"
    WORSE = "worse"


# One whole step on the ordinal 1..5 scales; one point on the 0..10 scale (smaller moves on a
# 0..10 self-report are within the noise of answering on another day).
CHANGE_THRESHOLDS: dict[Scale, float] = {Scale.PHASE: 1.0, Scale.LEVEL: 1.0, Scale.SCORE: 1.0}

ORDINAL_SCALES = frozenset({Scale.PHASE, Scale.LEVEL})


def classify_change(delta: float, scale: Scale) -> Outcome:
    threshold = CHANGE_THRESHOLDS[scale]
    if delta >= threshold:
        return Outcome.IMPROVED
    if delta <= -threshold:
        return Outcome.WORSE
    return Outcome.SAME
