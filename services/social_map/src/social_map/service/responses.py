"""Questionnaire results, projected from `response_submitted`: the dimension scores of a
resident's response, from which recommendations pick the lowest dimensions."""

from __future__ import annotations

from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.outbox import Staged

from social_map.adapters.repositories import Repository
from social_map.domain.residents import ResponseScores


async def save_scores(r: Repository, data: ResponseSubmitted) -> list[Staged]:
    """Effect: keep the scores of a resident's response (anonymous ones have no owner)."""
    if data.person_id is None or not data.dimension_scores:
        return []
    await r.save_response(
        ResponseScores(
            response_id=data.response_id,
            person_id=data.person_id,
            scores=dict(data.dimension_scores),
            family=data.family,
            submitted_at=data.submitted_at,
        )
    )
    return []
