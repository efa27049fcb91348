"""Learning (resident): homework and own modules, the suggested entry step of a long path
with its reason, one step per screen (text, private reflection, quiz, checklist, "Mijn plan",
local offers), completion, a print view per step, and the choice to share progress with an
organisation (consent `share_learning_progress` at identity).

Everything goes through the learning paths service's public API with the resident's token;
the portal keeps no answers of its own."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from portal.api import ApiError
from portal.pages.mydata import set_consent
from portal.web import Form, Page, PageDep, field

router = APIRouter(prefix="/learning")
PURPOSE = "share_learning_progress"
#: step kinds whose answer the resident writes or picks (the others are read and completed)
ANSWERED = ("exercise", "quiz", "checklist", "plan")
#: kinds whose free text stays private unless the resident shares that step
PRIVATE = ("exercise", "plan")


def in_lang(message: str, lang: str) -> str:
    """The services write "NL / EN"; show the reader's half."""
    if " / " in message:
        nl, _, en = message.partition(" / ")
        return en if lang == "en" else nl
    return message


def problem_messages(error: ApiError, lang: str) -> list[str]:
    """The field messages of a 422 problem (else its detail), in the reader's language."""
    found = [
        in_lang(str(e.get("message", "")), lang)
        for e in error.problem.get("errors") or []
        if isinstance(e, dict) and e.get("message")
    ]
    return found or [error.detail(lang)]


def answer_body(kind: str, step: dict[str, Any], form: FormData) -> dict[str, Any] | None:
    """The service's AnswerInput for a step of `kind` from the posted form (None: nothing to
    save for this kind)."""
    if kind == "exercise":
        return {"text": field(form, "text")}
    if kind == "plan":
        prompts = step.get("prompts") or []
        return {"plan": {str(n): field(form, f"plan-{n}") for n in range(1, len(prompts) + 1)}}
    if kind == "checklist":
        count = len(step.get("items") or [])
        picked = {int(v) for v in form.getlist("checked") if isinstance(v, str) and v.isdigit()}
        return {"checked": sorted(n for n in picked if 1 <= n <= count)}
    if kind == "quiz":
        choices: dict[str, list[int]] = {}
        for question in step.get("questions") or []:
            value = field(form, f"q-{question['id']}")
            if value.isdigit():
                choices[str(question["id"])] = [int(value)]
        return {"choices": choices}
    return None


def next_step(steps: list[dict[str, Any]], current: str) -> str | None:
    """The step after `current` in the module's order (None after the last)."""
    ids = [str(s["id"]) for s in steps]
    if current not in ids:
        return None
    index = ids.index(current)
    return ids[index + 1] if index + 1 < len(ids) else None


def entry_steps(version: dict[str, Any]) -> list[dict[str, Any]]:
    """A path's entry points with the first step of each (where a resident may start)."""
    steps = version.get("steps") or []
    found = []
    for point in version.get("entry_points") or []:
        first = next((s for s in steps if int(s.get("item", 1)) == int(point["item"])), None)
        if first is not None:
            found.append({**point, "step_id": first["id"], "step_title": first["title"]})
    return found


async def _catalogue(page: Page, collection: str) -> list[dict[str, Any]]:
    found = await page.api.get(page.session, "learning_paths", f"/{collection}", limit=100)
    return [c for c in found.get("items", []) if c.get("status") == "published"]


async def _organisations(page: Page) -> dict[str, str]:
    found = await page.api.get(page.session, "identity", "/organisations", limit=100)
    return {o["slug"]: o["name"] for o in found.get("items", [])}


@router.get("")
async def overview(page: PageDep) -> Response:
    page.require()
    mine, placements, modules, paths, consents, names = await asyncio.gather(
        page.api.get(page.session, "learning_paths", "/me/enrolments", limit=100),
        page.api.get(page.session, "learning_paths", "/me/placements"),
        _catalogue(page, "modules"),
        _catalogue(page, "paths"),
        page.api.get(page.session, "identity", "/me/consents"),
        _organisations(page),
    )
    titles = {c["id"]: c["title"] for c in [*modules, *paths]}
    enrolments = [
        {**e, "title": titles.get(e["content_id"], e["content_id"])} for e in mine.get("items", [])
    ]
    # Newest first; homework apart, because it comes with a date and a note.
    enrolments.sort(key=lambda e: str(e.get("created_at", "")), reverse=True)
    active = {e["content_id"]: e for e in enrolments if e.get("status") != "completed"}
    sharing = {
        c["organisation"] for c in consents.get("current", []) if PURPOSE in c.get("purposes", [])
    }
    return page.render(
        "learning/overview.html",
        title=page.t("learn_title"),
        homework=[e for e in enrolments if e.get("assignment")],
        own=[e for e in enrolments if not e.get("assignment")],
        placements=[
            {**p, "title": titles.get(p["path_id"], p["path_id"])}
            for p in placements.get("items", [])
        ],
        modules=modules,
        paths=paths,
        active=active,
        names=names,
        organisations=[
            {"slug": slug, "name": name, "on": slug in sharing}
            for slug, name in sorted(names.items(), key=lambda kv: kv[1])
        ],
    )


@router.post("/start")
async def start(page: PageDep, form: Form) -> Response:
    page.require()
    body: dict[str, Any] = {
        "content_id": field(form, "content_id"),
        "variant": "en" if page.lang == "en" else "nl",
    }
    if field(form, "entry_step"):
        body["entry_step"] = field(form, "entry_step")
    made = await page.api.json(page.session, "POST", "learning_paths", "/enrolments", json=body)
    page.flash("learn_started")
    target = made.get("current_step") or made.get("entry_step")
    return page.redirect(f"/learning/{made['id']}/steps/{target}")


@router.get("/paths/{path_id}")
async def choose_entry(page: PageDep, path_id: str) -> Response:
    """A long path: where to start (the suggestion first, any entry point allowed)."""
    page.require()
    found, placements = await asyncio.gather(
        page.api.get(page.session, "learning_paths", f"/paths/{path_id}"),
        page.api.get(page.session, "learning_paths", "/me/placements"),
    )
    version = found.get("version") or {}
    placement = next((p for p in placements.get("items", []) if p["path_id"] == path_id), None)
    entries = entry_steps(version)
    suggested = placement["effective_step"] if placement else (entries or [{}])[0].get("step_id")
    return page.render(
        "learning/entry.html",
        title=version.get("title") or found.get("title", ""),
        content=found,
        version=version,
        entries=entries,
        placement=placement,
        suggested=suggested,
    )


@router.get("/{enrolment_id}")
async def enrolment(page: PageDep, enrolment_id: str) -> Response:
    page.require()
    found = await page.api.get(page.session, "learning_paths", f"/enrolments/{enrolment_id}")
    steps = found.get("steps") or []
    return page.render(
        "learning/enrolment.html",
        title=found.get("title", ""),
        enrolment=found,
        steps=steps,
        done=found.get("display_status") == "completed",
    )


async def _step_context(page: Page, enrolment_id: str, step_id: str) -> dict[str, Any]:
    base = f"/enrolments/{enrolment_id}"
    found, shown = await asyncio.gather(
        page.api.get(page.session, "learning_paths", base),
        page.api.get(page.session, "learning_paths", f"{base}/steps/{step_id}"),
    )
    step = shown["step"]
    if step["kind"] == "local_offer":
        # Offers near the resident: the service needs the postcode area (never an address).
        me = await page.api.get(page.session, "identity", "/me")
        if me.get("pc4"):
            shown = await page.api.get(
                page.session, "learning_paths", f"{base}/steps/{step_id}", pc4=me["pc4"]
            )
    steps = found.get("steps") or []
    ids = [str(s["id"]) for s in steps]
    return {
        "enrolment": found,
        "steps": steps,
        "step": step,
        "answer": shown.get("answer") or {},
        "completed": bool(shown.get("completed")),
        "offers": shown.get("offers") or [],
        "number": ids.index(step_id) + 1 if step_id in ids else 1,
        "total": len(ids),
    }


@router.get("/{enrolment_id}/steps/{step_id}")
async def step(page: PageDep, enrolment_id: str, step_id: str) -> Response:
    page.require()
    context = await _step_context(page, enrolment_id, step_id)
    return page.render("learning/step.html", title=context["step"]["title"], errors=[], **context)


@router.post("/{enrolment_id}/steps/{step_id}")
async def save_step(page: PageDep, form: Form, enrolment_id: str, step_id: str) -> Response:
    """Save the answer; "next" also completes the step and goes on (the module completes with
    its last required step); "later" keeps the answer and goes back to the module."""
    page.require()
    base = f"/enrolments/{enrolment_id}/steps/{step_id}"
    shown = await page.api.get(page.session, "learning_paths", base)
    step_data = shown["step"]
    kind = step_data["kind"]
    body = answer_body(kind, step_data, form)
    try:
        if body is not None:
            await page.api.json(page.session, "PUT", "learning_paths", f"{base}/answer", json=body)
        if kind in PRIVATE:
            wanted = field(form, "share") == "yes"
            if wanted != bool((shown.get("answer") or {}).get("shared")):
                await page.api.json(
                    page.session,
                    "PUT",
                    "learning_paths",
                    f"{base}/sharing",
                    json={"shared": wanted},
                )
        if field(form, "action") == "later":
            page.flash("learn_saved")
            return page.redirect(f"/learning/{enrolment_id}")
        made = await page.api.json(page.session, "POST", "learning_paths", f"{base}/complete")
    except ApiError as error:
        if error.status not in (400, 409, 422):
            raise
        context = await _step_context(page, enrolment_id, step_id)
        return page.render(
            "learning/step.html",
            status=422,
            title=step_data["title"],
            errors=problem_messages(error, page.lang),
            **context,
        )
    if made.get("status") == "completed":
        page.flash("learn_module_done")
        return page.redirect(f"/learning/{enrolment_id}")
    found = await page.api.get(page.session, "learning_paths", f"/enrolments/{enrolment_id}")
    following = next_step(found.get("steps") or [], step_id) or made.get("current_step")
    if following is None:
        return page.redirect(f"/learning/{enrolment_id}")
    return page.redirect(f"/learning/{enrolment_id}/steps/{following}")


@router.get("/{enrolment_id}/steps/{step_id}/print")
async def print_step(page: PageDep, enrolment_id: str, step_id: str) -> Response:
    """The step on paper, the resident's own answers filled in (the portal's own page, so
    its styles and CSP apply)."""
    page.require()
    context = await _step_context(page, enrolment_id, step_id)
    return page.render("learning/print.html", title=context["step"]["title"], **context)


@router.post("/sharing")
async def sharing(page: PageDep, form: Form) -> Response:
    """Share learning progress with an organisation, or stop sharing (identity's consent)."""
    page.require()
    organisation = field(form, "organisation")
    grant = field(form, "action") != "revoke"
    await set_consent(page, organisation, PURPOSE, grant=grant)
    page.flash("learn_sharing_on" if grant else "learn_sharing_off")
    return page.redirect("/learning#sharing")
