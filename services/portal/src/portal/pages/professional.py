"""A professional's work: the caseload (residents who share their results with the
organisation), a resident's results and trend, homework (a learning module), and a post on
the neighbourhood market on the resident's behalf (broker).

Identity has no caseload endpoint yet, so the caseload is gathered from what the organisation
already knows through the public APIs (its questionnaire invitations and its homework) and
kept to the residents whose results the questionnaires service shows it, i.e. who consent."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from portal import instruments
from portal.api import ApiError, Service
from portal.pages.results import SVG_HEADERS, dimension_titles
from portal.pages.selftest import _cache
from portal.web import Form, Page, PageDep, field

router = APIRouter(prefix="/caseload")
STAFF = ("professional",)
CANDIDATES = 40
MAX_PAGES = 20
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def resident_code(person_id: str) -> str:
    """A short, speakable reference (no name travels to the portal without an API for it)."""
    return person_id.replace("-", "")[-6:].upper()


def _organisation(page: Page) -> str:
    user = page.require(*STAFF)
    return user.orgs_with(*STAFF)[0]


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


async def _every_page(
    page: Page, service: Service, path: str, **params: str
) -> list[dict[str, Any]]:
    """A list's items over its pages (oldest first), up to MAX_PAGES."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        found = await page.api.get(page.session, service, path, limit=100, cursor=cursor, **params)
        items.extend(found.get("items", []))
        cursor = found.get("next_cursor")
        if not cursor:
            break
    return items


@router.get("")
async def caseload(page: PageDep) -> Response:
    organisation = _organisation(page)
    invitations, assignments = await asyncio.gather(
        _every_page(page, "questionnaires", "/invitations", organisation=organisation),
        _every_page(page, "learning_paths", f"/organisations/{organisation}/assignments"),
    )
    people: list[str] = []
    # Newest first: the residents the organisation works with now.
    recent = sorted(
        [*assignments, *invitations],
        key=lambda item: str(item.get("created_at") or item.get("assigned_at") or ""),
        reverse=True,
    )
    for item in recent:
        person = item.get("person_id")
        if person and person not in people:
            people.append(str(person))
    people = people[:CANDIDATES]
    gate = asyncio.Semaphore(8)

    async def shared(person: str) -> list[dict[str, Any]]:
        async with gate:
            return await _shared_responses(page, person)

    found = await asyncio.gather(*(shared(p) for p in people))
    residents = [
        {"id": person, "code": resident_code(person), "latest": responses[0]}
        for person, responses in zip(people, found, strict=True)
        if responses
    ]
    return page.render(
        "professional/caseload.html",
        title=page.t("caseload_title"),
        residents=residents,
        organisation=organisation,
    )


@router.get("/{person_id}")
async def resident(page: PageDep, person_id: str) -> Response:
    organisation = _organisation(page)
    responses = await _shared_responses(page, person_id)
    if not responses:
        raise ApiError(404, {})
    latest = responses[0]
    earlier = next((r for r in responses[1:] if r.get("family") == latest.get("family")), None)
    full, trajectories, modules, categories = await asyncio.gather(
        page.api.get(page.session, "questionnaires", f"/responses/{latest['id']}"),
        _trajectories(page, person_id),
        page.api.get(page.session, "learning_paths", "/modules", limit=100),
        page.api.get(page.session, "marketplace", "/categories"),
    )
    definition = await _cache(page.request).get(
        page.api, page.session, full["instrument_id"], int(full["version"])
    )
    answers = full.get("answers", {})
    talk = [
        q.text(page.lang)
        for q in instruments.questions(definition, answers)
        if (answers.get(q.link_id) or {}).get("discussable")
    ]
    return page.render(
        "professional/resident.html",
        title=page.t("resident_title", code=resident_code(person_id)),
        person_id=person_id,
        code=resident_code(person_id),
        organisation=organisation,
        responses=responses,
        latest=full,
        earlier=earlier,
        instrument_title=instruments.title(definition, page.lang),
        names=dimension_titles(definition, page.lang),
        scores=(full.get("result") or {}).get("dimension_scores", []),
        talk=talk,
        trajectories=trajectories,
        modules=[m for m in modules.get("items", []) if m.get("status") == "published"],
        categories=categories.get("items", []),
    )


async def _trajectories(page: Page, person_id: str) -> list[dict[str, Any]]:
    try:
        found = await page.api.get(page.session, "effects", f"/people/{person_id}/trajectories")
    except ApiError as error:
        if error.status in (403, 404):
            return []
        raise
    return [t for t in found.get("items", []) if int(t.get("measurements", 0)) > 1]


@router.get("/{person_id}/results/{response_id}/chart.svg")
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


@router.get("/{person_id}/trajectories/{trajectory_id}/chart.svg")
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


@router.post("/{person_id}/assignments")
async def assign(page: PageDep, form: Form, person_id: str) -> Response:
    organisation = _organisation(page)
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


@router.post("/{person_id}/posts")
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
