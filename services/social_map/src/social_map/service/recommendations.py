"""Offers for a questionnaire result ("from the spider web to local offers").

The resident sees their own; a professional only with the resident's `share_results` consent
for one of the professional's organisations, and that view is access-logged (NEN 7513).
Another tenant's or an unknown response is 404, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, NotFound
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.adapters.repositories import Repository
from social_map.domain.geo import GeoPoint, validate_radius
from social_map.domain.recommendations import Recommendation, focus_dimensions, recommend
from social_map.domain.residents import Resident
from social_map.service.context import SERVICE, ServiceContext
from social_map.service.search import load_entries

NOT_FOUND = "Resultaat niet gevonden. / Response not found."
#: Age used for eligibility: the middle of identity's coarse age band.
AGE_OF_BAND = {"0-17": 12, "18-26": 22, "27-44": 35, "45-64": 55, "65-79": 72, "80+": 85}


@dataclass(frozen=True, slots=True)
class RecommendationResult:
    response_id: str
    focus: list[str]
    neighbourhood_code: str | None
    items: list[Recommendation]


async def _allowed(reader: Repository, principal: Principal, person_id: str) -> str | None:
    """None when the caller is the resident; else the organisation whose consent allows it."""
    if principal.person_id == person_id:
        return None
    for org in principal.organisations_with("professional"):
        if await reader.has_consent(person_id, org, "share_results"):
            return org
    raise NotFound(NOT_FOUND)


async def _home(reader: Repository, resident: Resident | None) -> tuple[GeoPoint, str]:
    hood = None
    if resident is not None and resident.neighbourhood_code:
        hood = await reader.neighbourhood(resident.neighbourhood_code)
    if hood is None and resident is not None and resident.pc4:
        hood = await reader.neighbourhood_of_pc4(resident.pc4)
    if hood is None:
        raise Conflict(
            "De wijk van deze bewoner is (nog) niet bekend. / The resident's neighbourhood "
            "is not known (yet).",
            kind="neighbourhood-unknown",
        )
    return hood.centroid, hood.code


async def for_response(
    ctx: ServiceContext,
    principal: Principal,
    response_id: str,
    *,
    interests: str = "",
    radius_km: float | None = None,
    limit: int = 10,
) -> RecommendationResult:
    tenant, now = principal.tenant, ctx.now()
    reader = await ctx.reader(tenant)
    response = await reader.response(response_id)
    if response is None:
        raise NotFound(NOT_FOUND)
    person_id = response.person_id
    via_org = await _allowed(reader, principal, person_id)
    radius = validate_radius(radius_km if radius_km is not None else ctx.settings.default_radius_km)
    resident = await reader.resident(person_id)
    home, code = await _home(reader, resident)
    view = await ctx.view(tenant)
    scores = response.scores
    focus = focus_dimensions(scores)
    categories = set().union(*(view.taxonomy.categories_for_dimension(d) for d in focus))
    versions: dict[str, int] = {}
    if categories:
        versions = await reader.shown_entry_versions(categories)
    stored = await load_entries(ctx, reader, versions)
    items = recommend(
        scores,
        home=home,
        candidates=[s.entry for s in stored],
        taxonomy=view.taxonomy,
        policy=view.policy,
        now=now,
        age=AGE_OF_BAND.get(str(resident.age_band if resident else None)),
        interests=interests,
        analyzer=view.analyzer,
        radius_km=radius,
        limit=limit,
    )
    if via_org is not None:

        async def log(db: repo.Db, session: Session) -> tuple[None, list[Any]]:
            await ctx.repo(db, session).record_access(
                service=SERVICE,
                principal=principal,
                resident=person_id,
                action="read",
                resource=f"response/{response_id}/recommendations",
                reason="share_results",
                on_behalf_of=via_org,
            )
            return None, []

        await ctx.runtime.commit(tenant, log)
    return RecommendationResult(response_id, [d.value for d in focus], code, items)
