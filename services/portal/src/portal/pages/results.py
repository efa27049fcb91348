"""A resident's results: the spider web (the questionnaires service's SVG) with the earlier
measurement overlaid, the scores as a table, the topics to talk about, and local offers that
fit the result (the social map's recommendations)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from portal import instruments
from portal.pages.selftest import _cache
from portal.web import Form, Page, PageDep, field

router = APIRouter()
RESIDENT = ("resident",)
SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def dimension_titles(definition: dict[str, Any], lang: str) -> dict[str, str]:
    """Dimension -> the title of the first group asking about it ("Meedoen")."""
    titles: dict[str, str] = {}
    for group in definition.get("groups", []):
        for item in group.get("items", []):
            dimension = item.get("dimension")
            if dimension and dimension not in titles:
                titles[dimension] = instruments.title({"title": group.get("title")}, lang)
    return titles


@router.get("/results")
async def results(page: PageDep) -> Response:
    page.require(*RESIDENT)
    mine, listed = await asyncio.gather(
        page.api.get(page.session, "questionnaires", "/responses", limit=100),
        page.api.get(page.session, "questionnaires", "/instruments", limit=100),
    )
    items = sorted(mine["items"], key=lambda r: str(r.get("started_at")), reverse=True)
    titles = {i["id"]: instruments.title(i, page.lang) for i in listed["items"]}
    return page.render(
        "results/list.html", title=page.t("results_title"), items=items, titles=titles
    )


@router.get("/results/{response_id}")
async def result(page: PageDep, response_id: str) -> Response:
    page.require(*RESIDENT)
    # The response with the resident's previous one of the same family (their trend).
    response = await page.api.get(
        page.session, "questionnaires", f"/responses/{response_id}", include="earlier"
    )
    if response.get("status") == "in_progress":
        return page.redirect(f"/self-assessment/{response_id}/review")
    definition = await _cache(page.request).get(
        page.api, page.session, response["instrument_id"], int(response["version"])
    )
    earlier = response.get("earlier")
    previous_scores = {
        s["dimension"]: s.get("score")
        for s in ((earlier or {}).get("result") or {}).get("dimension_scores", [])
    }
    answers = response.get("answers", {})
    shown = instruments.questions(definition, answers)
    talk = [q.text(page.lang) for q in shown if (answers.get(q.link_id) or {}).get("discussable")]
    return page.render(
        "results/result.html",
        title=page.t("result_title"),
        response=response,
        instrument_title=instruments.title(definition, page.lang),
        scores=(response.get("result") or {}).get("dimension_scores", []),
        names=dimension_titles(definition, page.lang),
        earlier=earlier,
        previous_scores=previous_scores,
        talk=talk,
    )


@router.get("/results/{response_id}/chart.svg")
async def chart(page: PageDep, response_id: str, compare_with: str | None = None) -> Response:
    """The questionnaires service's spider web, passed through (the browser holds no token)."""
    page.require(*RESIDENT)
    params: dict[str, str] = {"lang": page.lang}
    if compare_with and _ID.match(compare_with):
        params["compare_with"] = compare_with
    answer = await page.api.request(
        page.session,
        "GET",
        "questionnaires",
        f"/responses/{response_id}/chart.svg",
        params=params,
    )
    if answer.status_code != 200:
        return Response(status_code=404)
    return Response(answer.content, media_type="image/svg+xml", headers=SVG_HEADERS)


def schedule_words(schedule: dict[str, Any], page: Page) -> str:
    """'elke dinsdag, 14:00 tot 15:00' from an RRULE with BYDAY and the opening hours."""
    rule = str(schedule.get("rrule") or "")
    days = re.search(r"BYDAY=([A-Z,]+)", rule)
    parts = []
    if days:
        names = [page.t(f"weekday_{d}") for d in days.group(1).split(",") if f"weekday_{d}"]
        parts.append(f"{page.t('every')} {', '.join(names)}")
    opens, closes = schedule.get("opens_at"), schedule.get("closes_at")
    if opens and closes:
        parts.append(f"{str(opens)[:5]} – {str(closes)[:5]}")
    return ", ".join(parts) or str(schedule.get("description") or "")


@router.get("/results/{response_id}/offers")
async def offers(page: PageDep, response_id: str) -> Response:
    page.require(*RESIDENT)
    found = await page.api.get(
        page.session, "social_map", "/recommendations", response_id=response_id, limit=10
    )
    return page.render(
        "results/offers.html",
        title=page.t("offers_title"),
        response_id=response_id,
        items=found.get("items", []),
        schedule_words=lambda s: schedule_words(s, page),
    )


@router.post("/offers/{entry_id}/report")
async def report_offer(page: PageDep, form: Form, entry_id: str) -> Response:
    """ "Dit klopt niet meer": the entry becomes a task for its owner."""
    page.require()
    await page.api.json(
        page.session,
        "POST",
        "social_map",
        f"/entries/{entry_id}/reports",
        json={"note": field(form, "note")[:280]},
    )
    page.flash("offer_reported")
    back = field(form, "back")
    return page.redirect(back if back.startswith("/results/") else "/results")
