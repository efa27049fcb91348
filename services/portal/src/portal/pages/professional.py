"""A professional's work: the caseload (identity's list of the residents who consent to the
organisation, with their names; identity logs each listing in the residents' access logs),
a resident's results and trend, a new one-time login code, homework (a learning module), and
a post on the neighbourhood market on the resident's behalf (broker)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx2
from fastapi import APIRouter
from fastapi.responses import Response
from wijkkracht_common.observability import get_logger

from portal import instruments
from portal.api import ApiError
from portal.pages import assisted, together
from portal.pages.casework import (
    ID,
    STAFF,
    caseload_page,
    checked_id,
    login_code_page,
    notes_of,
    organisation_of,
    resident_code,
    resident_name,
)
from portal.pages.results import SVG_HEADERS, dimension_titles
from portal.pages.selftest import SHOWN_PURPOSES, _cache
from portal.web import Form, Page, PageDep, field

log = get_logger(__name__)
router = APIRouter()
# The assisted registration and fill-in-together pages are the professional's too.
router.include_router(assisted.router)
router.include_router(together.router)
_ID = ID
#: an API's opaque cursor (URL-safe base64): passed on as it is, nothing else
_CURSOR = re.compile(r"^[A-Za-z0-9_=-]{1,1000}$")


async def _shared_responses(page: Page, person_id: str) -> list[dict[str, Any]]:
    try:
        found = await page.api.get(
            page.session, "questionnaires", f"/people/{person_id}/responses", limit=50
        )
    except ApiError as error:
        if error.status in (403, 404):
            return []
        raise
    items: list[dict[str, Any]] = found.get("items", [])
    return sorted(items, key=lambda r: str(r.get("submitted_at")), reverse=True)


@router.get("/caseload")
async def caseload(page: PageDep, cursor: str | None = None) -> Response:
    organisation = organisation_of(page)
    if cursor is not None and not _CURSOR.match(cursor):
        cursor = None
    try:
        found = await caseload_page(page, organisation, cursor)
    except (ApiError, httpx2.HTTPError) as error:
        # The list is identity's: say so plainly, keep the rest of the page usable.
        log.warning("caseload unavailable", error=repr(error)[:300])
        return page.render(
            "professional/caseload.html",
            status=503,
            title=page.t("caseload_title"),
            residents=[],
            unavailable=True,
            organisation=organisation,
            next_cursor=None,
        )
    residents = [
        {
            **item,
            "code": resident_code(str(item["id"])),
            "purposes": [page.t(f"shares_{p}") for p in item.get("purposes", [])],
        }
        for item in found.get("items", [])
    ]
    return page.render(
        "professional/caseload.html",
        title=page.t("caseload_title"),
        residents=residents,
        unavailable=False,
        organisation=organisation,
        next_cursor=found.get("next_cursor"),
        first_page=cursor is None,
    )


async def _instruments(page: Page) -> list[dict[str, Any]]:
    """The questionnaires a professional may fill in together with a resident."""
    listed = await page.api.get(page.session, "questionnaires", "/instruments", limit=100)
    choices = [
        i
        for i in listed["items"]
        if i.get("respondent") == "resident"
        and i.get("purpose") in SHOWN_PURPOSES
        and page.lang in i.get("languages", [page.lang])
    ]
    choices.sort(key=lambda i: (i.get("purpose") != "self_assessment", i.get("variant") != "short"))
    return choices


@router.get("/caseload/{person_id}")
async def resident(page: PageDep, person_id: str) -> Response:
    organisation = organisation_of(page)
    checked_id(person_id)
    try:
        name = await resident_name(page, organisation, person_id)
    except (ApiError, httpx2.HTTPError):
        name = None  # identity is unavailable: the page still shows what the others allow
    responses, choices, modules, categories, trajectories = await asyncio.gather(
        _shared_responses(page, person_id),
        _instruments(page),
        page.api.get(page.session, "learning_paths", "/modules", limit=100),
        page.api.get(page.session, "marketplace", "/categories"),
        _trajectories(page, person_id),
    )
    if name is None and not responses:
        raise ApiError(404, {})
    code = resident_code(person_id)
    context: dict[str, Any] = {
        "person_id": person_id,
        "name": name,
        "code": code,
        "organisation": organisation,
        "responses": responses,
        "choices": choices,
        "titles": {i["id"]: instruments.title(i, page.lang) for i in choices},
        "open_together": notes_of(page).open_together.get(person_id, []),
        "trajectories": trajectories,
        "modules": [m for m in modules.get("items", []) if m.get("status") == "published"],
        "categories": categories.get("items", []),
        "latest": None,
    }
    if responses:
        latest = responses[0]
        earlier = next((r for r in responses[1:] if r.get("family") == latest.get("family")), None)
        full = await page.api.get(page.session, "questionnaires", f"/responses/{latest['id']}")
        definition = await _cache(page.request).get(
            page.api, page.session, full["instrument_id"], int(full["version"])
        )
        answers = full.get("answers", {})
        context |= {
            "latest": full,
            "earlier": earlier,
            "instrument_title": instruments.title(definition, page.lang),
            "names": dimension_titles(definition, page.lang),
            "scores": (full.get("result") or {}).get("dimension_scores", []),
            "talk": [
                q.text(page.lang)
                for q in instruments.questions(definition, answers)
                if (answers.get(q.link_id) or {}).get("discussable")
            ],
        }
    return page.render(
        "professional/resident.html", title=name or page.t("resident_title", code=code), **context
    )


async def _trajectories(page: Page, person_id: str) -> list[dict[str, Any]]:
    try:
        found = await page.api.get(page.session, "effects", f"/people/{person_id}/trajectories")
    except ApiError as error:
        if error.status in (403, 404):
            return []
        raise
    return [
        shown_trajectory(t) for t in found.get("items", []) if int(t.get("measurements", 0)) > 1
    ]


#: Where help in a trajectory came from (effect measurement's `source`); others are not shown.
HELP_SOURCES = ("learning_paths", "marketplace", "recorded")


def shown_trajectory(found: dict[str, Any]) -> dict[str, Any]:
    """A trajectory as the page shows it: its help (interventions the professional may see,
    effect measurement decides which) in time order, each as where it came from and when."""
    interventions = [
        {"source": i["source"], "occurred_at": i["occurred_at"]}
        for i in found.get("interventions") or []
        if i.get("source") in HELP_SOURCES and i.get("occurred_at")
    ]
    interventions.sort(key=lambda i: str(i["occurred_at"]))
    return {**found, "interventions": interventions}


@router.post("/caseload/{person_id}/login-codes")
async def new_login_code(page: PageDep, _: Form, person_id: str) -> Response:
    """A fresh one-time code for a resident who logs in without e-mail (shown once)."""
    organisation = organisation_of(page)
    checked_id(person_id)
    name = await resident_name(page, organisation, person_id)
    try:
        issued = await page.api.json(
            page.session, "POST", "identity", f"/people/{person_id}/login-codes"
        )
    except ApiError as error:
        if error.status != 404:
            raise
        page.flash("login_code_refused")
        return page.redirect(f"/caseload/{person_id}")
    return login_code_page(
        page, person_id, name or "", str(issued["login_code"]), issued.get("expires_at")
    )


@router.get("/caseload/{person_id}/results/{response_id}/chart.svg")
async def result_chart(
    page: PageDep, person_id: str, response_id: str, compare_with: str | None = None
) -> Response:
    page.require(*STAFF)
    params: dict[str, str] = {"lang": page.lang}
    if compare_with and _ID.match(compare_with):
        params["compare_with"] = compare_with
    answer = await page.api.request(
        page.session, "GET", "questionnaires", f"/responses/{response_id}/chart.svg", params=params
    )
    if answer.status_code != 200:
        return Response(status_code=404)
    return Response(answer.content, media_type="image/svg+xml", headers=SVG_HEADERS)


@router.get("/caseload/{person_id}/trajectories/{trajectory_id}/chart.svg")
async def trend_chart(page: PageDep, person_id: str, trajectory_id: str) -> Response:
    page.require(*STAFF)
    answer = await page.api.request(
        page.session,
        "GET",
        "effects",
        f"/people/{person_id}/trajectories/{trajectory_id}/chart.svg",
    )
    if answer.status_code != 200:
        return Response(status_code=404)
    return Response(answer.content, media_type="image/svg+xml", headers=SVG_HEADERS)


@router.post("/caseload/{person_id}/assignments")
async def assign(page: PageDep, form: Form, person_id: str) -> Response:
    organisation = organisation_of(page)
    body: dict[str, Any] = {
        "person_id": person_id,
        "content_id": field(form, "content_id"),
        "note": field(form, "note")[:2000],
        "variant": "en" if page.lang == "en" and field(form, "variant") == "en" else "nl",
    }
    due = field(form, "due_date")
    if re.match(r"^\d{4}-\d{2}-\d{2}$", due):
        body["due_at"] = f"{due}T17:00:00+00:00"
    await page.api.json(
        page.session,
        "POST",
        "learning_paths",
        f"/organisations/{organisation}/assignments",
        json=body,
    )
    page.flash("assigned")
    return page.redirect(f"/caseload/{person_id}")


@router.post("/caseload/{person_id}/posts")
async def post_for(page: PageDep, form: Form, person_id: str) -> Response:
    """Only a broker (marketplace role) with the resident's marketplace_broker consent."""
    page.require("broker")
    kind = "offer" if field(form, "kind") == "offer" else "request"
    await page.api.json(
        page.session,
        "POST",
        "marketplace",
        "/posts",
        params={"for_person": person_id},
        json={"kind": kind, "category": field(form, "category"), "text": field(form, "text")[:500]},
    )
    page.flash("posted")
    return page.redirect(f"/caseload/{person_id}")
