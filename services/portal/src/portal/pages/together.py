"""Fill in a questionnaire together with a resident (the questionnaires service's assisted
mode): the professional starts a response for the resident on behalf of the organisation,
answers with them one question per screen (the resident's own answer inputs), checks and
sends. The service logs every step in the resident's access log; the resident sees the
response as their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from portal import fillin, instruments
from portal.api import ApiError
from portal.instruments import Question
from portal.pages.casework import checked_id, notes_of, organisation_of, resident_name
from portal.pages.results import dimension_titles
from portal.pages.selftest import _errors, _load, _save
from portal.web import Form, Page, PageDep, field

router = APIRouter(prefix="/caseload/{person_id}/together")


async def _owned(page: Page, person_id: str, response_id: str) -> tuple[dict[str, Any], Any]:
    """The response and its definition, when it is this resident's (404 otherwise)."""
    organisation_of(page)
    checked_id(person_id)
    checked_id(response_id)
    response, definition = await _load(page, response_id)
    if response.get("person_id") != person_id:
        raise ApiError(404, {})
    return response, definition


def _base(person_id: str, response_id: str) -> str:
    return f"/caseload/{person_id}/together/{response_id}"


async def _who(page: Page, person_id: str) -> str:
    try:
        name = await resident_name(page, organisation_of(page), person_id)
    except ApiError:
        name = None
    return name or ""


@router.post("")
async def start(page: PageDep, form: Form, person_id: str) -> Response:
    organisation = organisation_of(page)
    checked_id(person_id)
    instrument_id = field(form, "instrument_id") or "health-short"
    response = await page.api.json(
        page.session,
        "POST",
        "questionnaires",
        "/responses",
        json={
            "instrument_id": instrument_id,
            "language": page.lang,
            "person_id": person_id,
            "organisation": organisation,
        },
    )
    notes_of(page).started(person_id, str(response["id"]))
    return page.redirect(f"{_base(person_id, response['id'])}/q/0")


async def _question_page(
    page: Page,
    person_id: str,
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
        base=_base(person_id, response["id"]),
        banner=await _banner(page, person_id),
        errors=errors,
        **fillin.question_context(definition, response, shown, index),
    )


async def _banner(page: Page, person_id: str) -> str:
    name = await _who(page, person_id)
    return page.t("together_banner", name=name) if name else page.t("together_banner_anonymous")


@router.get("/{response_id}/q/{index}")
async def question(page: PageDep, person_id: str, response_id: str, index: int) -> Response:
    response, definition = await _owned(page, person_id, response_id)
    if response.get("status") != "in_progress":
        return page.redirect(f"{_base(person_id, response_id)}/done")
    shown = instruments.questions(definition, response.get("answers", {}))
    if not shown:
        return page.redirect(f"{_base(person_id, response_id)}/review")
    index = max(0, min(index, len(shown) - 1))
    return await _question_page(page, person_id, response, definition, shown, index, errors=[])


@router.post("/{response_id}/q/{index}")
async def answer(
    page: PageDep, form: Form, person_id: str, response_id: str, index: int
) -> Response:
    response, definition = await _owned(page, person_id, response_id)
    base = _base(person_id, response_id)
    if response.get("status") != "in_progress":
        return page.redirect(f"{base}/done")
    shown = instruments.questions(definition, response.get("answers", {}))
    index = max(0, min(index, len(shown) - 1))
    q = shown[index]
    action = field(form, "action") or "next"
    given, problem = fillin.read_answer(form, q, action)
    errors = [page.t(problem)] if problem else []
    if not errors:
        try:
            await _save(page, response_id, {q.link_id: given} if given else {})
        except ApiError as error:
            if error.status != 422:
                raise
            errors = _errors(error, page.lang)
    if errors:
        return await _question_page(
            page, person_id, response, definition, shown, index, errors=errors, status=422
        )
    if action == "later":
        page.flash("together_saved")
        return page.redirect(f"/caseload/{person_id}")
    answers = response.get("answers", {})
    return page.redirect(fillin.next_screen(base, definition, answers, q, given, index, action))


@router.get("/{response_id}/review")
async def review(page: PageDep, person_id: str, response_id: str) -> Response:
    response, definition = await _owned(page, person_id, response_id)
    if response.get("status") != "in_progress":
        return page.redirect(f"{_base(person_id, response_id)}/done")
    return await _review_page(page, person_id, response, definition, errors=[])


async def _review_page(
    page: Page,
    person_id: str,
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
        base=_base(person_id, response["id"]),
        banner=await _banner(page, person_id),
        review_intro=page.t("together_review_intro"),
        rows=fillin.review_rows(definition, response.get("answers", {}), page.lang),
        errors=errors,
    )


@router.post("/{response_id}/submit")
async def submit(page: PageDep, _: Form, person_id: str, response_id: str) -> Response:
    await _owned(page, person_id, response_id)
    base = _base(person_id, response_id)
    try:
        await page.api.json(
            page.session,
            "POST",
            "questionnaires",
            f"/responses/{response_id}/submit",
            headers={"Idempotency-Key": f"portal-together-{response_id}"},
        )
    except ApiError as error:
        if error.status == 409:  # sent before (a second click)
            return page.redirect(f"{base}/done")
        if error.status != 422:
            raise
        response, definition = await _load(page, response_id)
        return await _review_page(
            page, person_id, response, definition, errors=_errors(error, page.lang), status=422
        )
    notes_of(page).finished(person_id, response_id)
    return page.redirect(f"{base}/done")


@router.get("/{response_id}/done")
async def done(page: PageDep, person_id: str, response_id: str) -> Response:
    response, definition = await _owned(page, person_id, response_id)
    if response.get("status") == "in_progress":
        return page.redirect(f"{_base(person_id, response_id)}/review")
    return page.render(
        "professional/together_done.html",
        title=page.t("together_done_title"),
        person_id=person_id,
        name=await _who(page, person_id),
        response=response,
        instrument_title=instruments.title(definition, page.lang),
        names=dimension_titles(definition, page.lang),
        scores=(response.get("result") or {}).get("dimension_scores", []),
    )
