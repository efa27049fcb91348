"""Analyst: aggregates per neighbourhood and organisation from effect measurement, with the
suppressed cells shown as such (never a number for a small group), and the service's chart."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import Response

from portal.api import ApiError
from portal.pages.results import SVG_HEADERS
from portal.web import PageDep

router = APIRouter(prefix="/dashboards")
ANALYSTS = ("analyst", "org_admin", "tenant_admin")
FAMILIES = ("effect-monitor", "health-self-assessment", "self-sufficiency-matrix")
_PERIOD = re.compile(r"^\d{4}(-Q[1-4]|-\d{2})?$")


def _query(family: str | None, period: str | None, year: int) -> dict[str, str]:
    return {
        "family": family if family in FAMILIES else FAMILIES[0],
        "period": period if period and _PERIOD.match(period) else str(year),
    }


@router.get("")
async def dashboards(
    page: PageDep, family: str | None = None, period: str | None = None
) -> Response:
    page.require(*ANALYSTS)
    from datetime import UTC, datetime

    query = _query(family, period, datetime.now(UTC).year)
    error = None
    try:
        found = await page.api.get(page.session, "effects", "/aggregates", **query)
        tables = found.get("items", [])
    except ApiError as problem:
        if problem.status != 422:
            raise
        tables, error = [], problem.detail(page.lang)
    return page.render(
        "analyst/dashboards.html",
        title=page.t("dash_title"),
        tables=tables,
        query=query,
        families=FAMILIES,
        error=error,
    )


@router.get("/chart.svg")
async def chart(
    page: PageDep, family: str | None = None, period: str | None = None, column: str = "measured"
) -> Response:
    page.require(*ANALYSTS)
    from datetime import UTC, datetime

    params = {**_query(family, period, datetime.now(UTC).year), "column": column[:64]}
    answer = await page.api.request(
        page.session, "GET", "effects", "/aggregates/chart.svg", params=params
    )
    if answer.status_code != 200:
        return Response(status_code=404)
    return Response(answer.content, media_type="image/svg+xml", headers=SVG_HEADERS)
