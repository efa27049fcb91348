"""What the professional's pages share: the organisation they work for, identity's caseload
(with the names, remembered per session so a resident page needs no second listing, which
identity would access-log again), and the printable one-time login code."""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import Response

from portal.api import ApiError
from portal.notes import NoteBook, Notes
from portal.web import Page

STAFF = ("professional",)
#: residents per caseload page; the name look-up of a resident page reads at most LOOKUP_PAGES
PAGE_SIZE, LOOKUP_PAGES = 50, 4
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def resident_code(person_id: str) -> str:
    """A short, speakable reference, beside the name (two residents may share a name)."""
    return person_id.replace("-", "")[-6:].upper()


def organisation_of(page: Page) -> str:
    user = page.require(*STAFF)
    return user.orgs_with(*STAFF)[0]


def notes_of(page: Page) -> Notes:
    book: NoteBook | None = getattr(page.request.app.state, "notes", None)
    if book is None:
        book = page.request.app.state.notes = NoteBook()
    return book.of(page.session.id)


def checked_id(value: str) -> str:
    if not ID.match(value):
        raise ApiError(404, {})
    return value


async def caseload_page(
    page: Page, organisation: str, cursor: str | None = None, limit: int = PAGE_SIZE
) -> dict[str, Any]:
    """One page of identity's caseload; the names are remembered for the resident pages."""
    found: dict[str, Any] = await page.api.get(
        page.session,
        "identity",
        f"/organisations/{organisation}/caseload",
        limit=limit,
        cursor=cursor,
    )
    notes = notes_of(page)
    for item in found.get("items", []):
        notes.remember(str(item["id"]), str(item.get("display_name") or ""))
    return found


async def resident_name(page: Page, organisation: str, person_id: str) -> str | None:
    """The resident's name from this session's caseload pages, else from identity's caseload
    (a link followed straight to the page); None: not in the organisation's caseload."""
    notes = notes_of(page)
    if person_id in notes.names:
        return notes.names[person_id]
    cursor: str | None = None
    for _ in range(LOOKUP_PAGES):
        found = await caseload_page(page, organisation, cursor, limit=100)
        if person_id in notes.names:
            return notes.names[person_id]
        cursor = found.get("next_cursor")
        if not cursor:
            break
    return None


def login_code_page(
    page: Page, person_id: str, name: str, code: str, expires_at: str | None
) -> Response:
    """The printable letter with the code: rendered in the answer to the POST only, so it is
    shown once and kept nowhere in the portal."""
    return page.render(
        "professional/login_code.html",
        title=page.t("code_title"),
        person_id=person_id,
        name=name,
        login_code=code,
        expires_at=expires_at,
        portal_url=page.settings.public_url,
    )
