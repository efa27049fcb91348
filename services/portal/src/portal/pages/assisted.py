"""Assisted registration: a professional registers a resident who has no e-mail, with the
resident beside them, records the consents the resident asks for, and prints a one-time login
code. Identity shows the code once; the portal puts it in the answer to the POST and keeps
it nowhere (a reload does not register the resident again, and does not show the code)."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from portal.api import ApiError
from portal.pages.casework import STAFF, login_code_page, notes_of, organisation_of
from portal.pages.selftest import _errors
from portal.web import Form, Page, PageDep, field

router = APIRouter(prefix="/assisted-registration")
HOUSEHOLDS = ("single", "couple_without_children", "couple_with_children", "single_parent", "other")
#: consents the professional may record at the resident's request, right at registration
CONSENTS = ("share_results", "share_learning_progress")
_PC4 = re.compile(r"^[1-9][0-9]{3}$")


def _form_page(
    page: Page, *, values: dict[str, Any], errors: list[str], status: int = 200
) -> Response:
    return page.render(
        "professional/register.html",
        status=status,
        title=page.t("assisted_title"),
        values=values,
        errors=errors,
        households=HOUSEHOLDS,
        consents=CONSENTS,
        form_id=secrets.token_urlsafe(16),
        this_year=date.today().year,
    )


@router.get("")
async def form(page: PageDep) -> Response:
    organisation_of(page)
    return _form_page(page, values={}, errors=[])


def _validate(page: Page, values: dict[str, Any]) -> list[str]:
    errors = []
    if not values["display_name"]:
        errors.append(page.t("assisted_name_missing"))
    if values["pc4"] and not _PC4.match(values["pc4"]):
        errors.append(page.t("assisted_pc4_invalid"))
    year = values["birth_year"]
    if year and (not year.isdigit() or not 1900 <= int(year) <= date.today().year):
        errors.append(page.t("assisted_year_invalid"))
    return errors


@router.post("")
async def register(page: PageDep, form: Form) -> Response:
    page.require(*STAFF)
    organisation = organisation_of(page)
    values: dict[str, Any] = {
        "display_name": field(form, "display_name")[:120],
        "pc4": field(form, "pc4").replace(" ", ""),
        "birth_year": field(form, "birth_year"),
        "household_type": field(form, "household_type"),
        "consents": [c for c in form.getlist("consent") if c in CONSENTS],
    }
    notes = notes_of(page)
    form_id = field(form, "form_id")
    if form_id and form_id in notes.used_forms:
        # Sent again (a reload or a second click): the resident exists, the code was shown.
        page.flash("assisted_already")
        return page.redirect("/caseload")
    errors = _validate(page, values)
    if errors:
        return _form_page(page, values=values, errors=errors, status=422)
    body: dict[str, Any] = {"organisation": organisation, "display_name": values["display_name"]}
    if values["pc4"]:
        body["pc4"] = values["pc4"]
    if values["birth_year"]:
        body["birth_year"] = int(values["birth_year"])
    if values["household_type"] in HOUSEHOLDS:
        body["household_type"] = values["household_type"]
    try:
        created = await page.api.json(
            page.session, "POST", "identity", "/assisted-registrations", json=body
        )
    except ApiError as error:
        if error.status != 422:
            raise
        return _form_page(page, values=values, errors=_errors(error, page.lang), status=422)
    if form_id:
        notes.used_forms.add(form_id)
    person_id = str(created["id"])
    notes.remember(person_id, values["display_name"])
    for purpose in values["consents"]:
        try:
            await page.api.json(
                page.session,
                "POST",
                "identity",
                f"/people/{person_id}/consents",
                json={"organisation": organisation, "purpose": purpose},
            )
        except ApiError:
            page.flash("assisted_consent_failed")
            break
    page.flash("assisted_done")
    return login_code_page(
        page,
        person_id,
        values["display_name"],
        str(created["login_code"]),
        created.get("expires_at"),
    )
