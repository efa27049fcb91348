"""The export contract (architecture §9): the social map's part of a person's data export.

What the social map holds about the person, JSON-ready: the coarse profile it keeps for
recommendations (PC4, neighbourhood, age band), the dimension scores of their questionnaire
responses, the "dit klopt niet meer" reports they made (with their notes) and the consents it
honours for them. Nothing else is kept per person here (no saved searches or favourites;
calendar-feed links belong to a neighbourhood, not a person). The access log of staff reading
their data is in identity's part (one log for the whole platform). Stored and answered by
`wijkkracht_common.export.contribute`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wijkkracht_common import export
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.events.social_map import SocialMapPersonDataExported
from wijkkracht_common.messaging import Delivery

from social_map.adapters import repositories as repo
from social_map.adapters.repositories import Repository
from social_map.service.context import ServiceContext


def _when(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


async def build_part(r: Repository, person_id: str) -> dict[str, Any]:
    resident = await r.resident(person_id)
    responses = await r.responses_of(person_id)
    reports = await r.reports_by(person_id)
    consents = await r.consents_of(person_id)
    return {
        "profile": None
        if resident is None
        else {
            "pc4": resident.pc4,
            "neighbourhood_code": resident.neighbourhood_code,
            "age_band": resident.age_band,
            "updated_at": _when(resident.at),
        },
        "responses": [
            {
                "response_id": response.response_id,
                "family": response.family,
                "submitted_at": _when(response.submitted_at),
                "dimension_scores": response.scores,
            }
            for response in responses
        ],
        "reports": [
            {
                "id": task.id,
                "entry_id": task.entry_id,
                "entry_name": task.entry_name,
                "note": task.note,
                "reported_at": _when(task.created_at),
                "status": task.status,
                "closed_at": _when(task.closed_at),
            }
            for task in reports
        ],
        "consents": consents,
        "counts": {
            "profile": int(resident is not None),
            "responses": len(responses),
            "reports": len(reports),
            "consents": sum(len(orgs) for orgs in consents.values()),
        },
    }


async def on_export_requested(
    ctx: ServiceContext, env: Envelope[PersonExportRequested], delivery: Delivery
) -> bool:
    async def build(db: repo.Db, person_id: str) -> dict[str, Any]:
        return await build_part(ctx.repo(db), person_id)

    return await export.contribute(
        ctx.runtime, env, delivery, build=build, answer=SocialMapPersonDataExported
    )
