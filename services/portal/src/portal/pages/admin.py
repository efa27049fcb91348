"""Organisation admin / neighbourhood manager: keeping the social map fresh. Entries not
checked for long and "klopt niet meer" reports, each verified with one click."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from portal.api import ApiError
from portal.web import Form, Page, PageDep

router = APIRouter(prefix="/social-map")
MANAGERS = ("neighbourhood_manager", "org_admin")
STATES = ("fresh", "due", "stale", "hidden")


async def _overview(page: Page) -> dict[str, Any]:
    freshness, tasks = await asyncio.gather(
        page.api.get(page.session, "social_map", "/freshness"),
        page.api.get(page.session, "social_map", "/tasks", status="open"),
    )
    return {"owners": freshness.get("items", []), "tasks": tasks.get("items", []), "states": STATES}


@router.get("")
async def overview(page: PageDep) -> Response:
    page.require(*MANAGERS)
    return page.render(
        "admin/socialmap.html",
        title=page.t("socialmap_title"),
        verified=set(),
        **await _overview(page),
    )


@router.post("/entries/{entry_id}/verification")
async def verify(page: PageDep, _: Form, entry_id: str) -> Response:
    """ "Klopt nog" in one click: the entry's freshness clock starts again."""
    page.require(*MANAGERS)
    try:
        await page.api.json(page.session, "POST", "social_map", f"/entries/{entry_id}/verification")
    except ApiError as error:
        if error.status != 409:
            raise
    page.flash("verified")
    if page.is_htmx:
        return page.render("admin/_verified.html", entry_id=entry_id)
    return page.redirect("/social-map")
