"""Fill in a self-assessment: one question per screen (or all on one page), skip a sensitive
question, mark "I want to talk about this", save and continue later, check and send."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal import fillin, instruments
from portal.api import ApiError
from portal.instruments import DefinitionCache, Question
from portal.web import Form, Page, PageDep, field

router = APIRouter(prefix="/self-assessment")
RESIDENT = ("resident",)
SHOWN_PURPOSES = ("self_assessment", "measurement")


def _cache(request: Request) -> DefinitionCache:
    cache = getattr(request.app.state, "definitions", None)
    if cache is None:
        cache = request.app.state.definitions = DefinitionCache()
    return cache


async def _load(page: Page, response_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    response = await page.api.get(page.session, "questionnaires", f"/responses/{response_id}")
    definition = await _cache(page.request).get(
        page.api, page.session, response["instrument_id"], int(response["version"])
    )
    return response, definition


def _errors(error: ApiError, lang: str) -> list[str]:
    found = [
        str(e.get(f"message_{lang}") or e.get("message") or "")
        for e in error.problem.get("errors", [])
    ]
    return [m for m in found if m] or [error.detail(lang)]


@router.get("")
async def choose(page: PageDep) -> Response:
    page.require(*RESIDENT)
    listed, mine = await asyncio.gather(
        page.api.get(page.session, "questionnaires", "/instruments", limit=100),
        page.api.get(page.session, "questionnaires", "/responses", limit=50),
    )
    choices = [
        i
        for i in listed["items"]
        if i.get("respondent") == "resident"
        and i.get("purpose") in SHOWN_PURPOSES
        and page.lang in i.get("languages", [page.lang])
    ]
    choices.sort(
        key=lambda i: (
            i.get("purpose") != "self_assessment",
            i.get("variant") != "short",
        )
    )
    open_ones = [r for r in mine["items"] if r.get("status") == "in_progress"]
    titles = {i["id"]: instruments.title(i, page.lang) for i in listed["items"]}
    return page.render(
        "selftest/choose.html",
        title=page.t("selftest_title"),
        choices=choices,
        titles=titles,
        open_ones=open_ones,
        pick=lambda texts: instruments.title({"title": texts}, page.lang),
    )


@router.post("")
async def start(page: PageDep, form: Form) -> Response:
    page.require(*RESIDENT)
    instrument_id = field(form, "instrument_id") or "health-short"
    mode = "all" if field(form, "mode") == "all" else "q/0"
    response = await page.api.json(
        page.session,
        "POST",
        "questionnaires",
        "/responses",
        json={"instrument_id": instrument_id, "language": page.lang},
    )
    return page.redirect(f"/self-assessment/{response['id']}/{mode}")


def _submitted(response: dict[str, Any]) -> bool:
    return response.get("status") != "in_progress"


@router.get("/{response_id}/q/{index}")
async def question(page: PageDep, response_id: str, index: int) -> Response:
    page.require(*RESIDENT)
    response, definition = await _load(page, response_id)
    if _submitted(response):
        return page.redirect(f"/results/{response_id}")
    shown = instruments.questions(definition, response.get("answers", {}))
    if not shown:
        return page.redirect(f"/self-assessment/{response_id}/review")
    index = max(0, min(index, len(shown) - 1))
    return _question_page(page, response, definition, shown, index, errors=[])


def _question_page(
    page: Page,
    response: dict[str, Any],
    definition: dict[str, Any],
    shown: list[Question],
    index: int,
    *,
    errors: list[str],
    status: int = 200,
) -> Response:
    title = instruments.title(definition, page.lang)
    return page.render(
        "fillin/question.html",
        status=status,
        title=page.t("question_of", n=index + 1, total=len(shown)) + " — " + title,
        instrument_title=title,
        base=f"/self-assessment/{response['id']}",
        errors=errors,
        **fillin.question_context(definition, response, shown, index),
    )


async def _save(page: Page, response_id: str, answers: dict[str, dict[str, Any]]) -> None:
    if answers:
        await page.api.json(
            page.session,
            "PATCH",
            "questionnaires",
            f"/responses/{response_id}",
            json={"answers": answers},
        )


@router.post("/{response_id}/q/{index}")
async def answer(page: PageDep, form: Form, response_id: str, index: int) -> Response:
    page.require(*RESIDENT)
    response, definition = await _load(page, response_id)
    if _submitted(response):
        return page.redirect(f"/results/{response_id}")
    shown = instruments.questions(definition, response.get("answers", {}))
    index = max(0, min(index, len(shown) - 1))
    q = shown[index]
    action = field(form, "action") or "next"
    given, problem = fillin.read_answer(form, q, action)
    if problem is not None:
        return _question_page(
            page,
            response,
            definition,
            shown,
            index,
            errors=[page.t(problem)],
            status=422,
        )
    try:
        await _save(page, response_id, {q.link_id: given} if given else {})
    except ApiError as error:
        if error.status != 422:
            raise
        return _question_page(
            page,
            response,
            definition,
            shown,
            index,
            errors=_errors(error, page.lang),
            status=422,
        )
    if action == "later":
        page.flash("saved_later")
        return page.redirect("/")
    base, answers = f"/self-assessment/{response_id}", response.get("answers", {})
    return page.redirect(fillin.next_screen(base, definition, answers, q, given, index, action))


@router.get("/{response_id}/all")
async def all_questions(page: PageDep, response_id: str) -> Response:
    page.require(*RESIDENT)
    response, definition = await _load(page, response_id)
    if _submitted(response):
        return page.redirect(f"/results/{response_id}")
    return _all_page(page, response, definition, errors=[])


def _all_page(
    page: Page,
    response: dict[str, Any],
    definition: dict[str, Any],
    *,
    errors: list[str],
    status: int = 200,
) -> Response:
    return page.render(
        "selftest/all.html",
        status=status,
        title=instruments.title(definition, page.lang),
        instrument_title=instruments.title(definition, page.lang),
        description=instruments.description(definition, page.lang),
        response=response,
        shown=instruments.questions(definition, response.get("answers", {})),
        answers=response.get("answers", {}),
        errors=errors,
    )


@router.post("/{response_id}/all")
async def save_all(page: PageDep, form: Form, response_id: str) -> Response:
    page.require(*RESIDENT)
    response, definition = await _load(page, response_id)
    if _submitted(response):
        return page.redirect(f"/results/{response_id}")
    answers: dict[str, dict[str, Any]] = {}
    for q in instruments.questions(definition, response.get("answers", {})):
        prefix = f"{q.link_id}."
        if q.may_skip and form.get(f"{prefix}skip") == "yes":
            answers[q.link_id] = {"skipped": True}
            continue
        given, problem = fillin.read_answer(form, q, "next", prefix)
        if problem is not None:
            return _all_page(page, response, definition, errors=[page.t(problem)], status=422)
        if given is not None:
            answers[q.link_id] = given
    try:
        await _save(page, response_id, answers)
    except ApiError as error:
        if error.status != 422:
            raise
        return _all_page(page, response, definition, errors=_errors(error, page.lang), status=422)
    if field(form, "action") == "later":
        page.flash("saved_later")
        return page.redirect("/")
    return page.redirect(f"/self-assessment/{response_id}/review")


@router.get("/{response_id}/review")
async def review(page: PageDep, response_id: str) -> Response:
    page.require(*RESIDENT)
    response, definition = await _load(page, response_id)
    if _submitted(response):
        return page.redirect(f"/results/{response_id}")
    return _review_page(page, response, definition, errors=[])


def _review_page(
    page: Page,
    response: dict[str, Any],
    definition: dict[str, Any],
    *,
    errors: list[str],
    status: int = 200,
) -> Response:
    return page.render(
        "fillin/review.html",
        status=status,
        title=page.t("review_title"),
        instrument_title=instruments.title(definition, page.lang),
        base=f"/self-assessment/{response['id']}",
        rows=fillin.review_rows(definition, response.get("answers", {}), page.lang),
        errors=errors,
    )


@router.post("/{response_id}/submit")
async def submit(page: PageDep, _: Form, response_id: str) -> Response:
    page.require(*RESIDENT)
    try:
        await page.api.json(
            page.session,
            "POST",
            "questionnaires",
            f"/responses/{response_id}/submit",
            headers={"Idempotency-Key": f"portal-submit-{response_id}"},
        )
    except ApiError as error:
        if error.status == 409:  # sent before (a second click): show the result
            return page.redirect(f"/results/{response_id}")
        if error.status != 422:
            raise
        response, definition = await _load(page, response_id)
        return _review_page(
            page, response, definition, errors=_errors(error, page.lang), status=422
        )
    return page.redirect(f"/results/{response_id}")
