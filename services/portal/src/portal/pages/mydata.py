"""My data: consent per organisation and purpose (grant, withdraw, history), the access log
in plain words, a download of everything (identity's export), and erasure with its progress."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from portal.api import ApiError
from portal.web import Form, Page, PageDep, field, fragment_or_redirect

router = APIRouter(prefix="/my-data")
#: The purposes identity accepts (its ConsentPurpose); marketplace_broker joins once it does.
PURPOSES = ("share_results", "share_learning_progress", "share_with_gp", "research")
SERVICES = (
    "identity",
    "questionnaires",
    "learning_paths",
    "marketplace",
    "social_map",
    "effect_measurement",
)


async def _consents(page: Page) -> dict[str, Any]:
    ledger, organisations = await asyncio.gather(
        page.api.get(page.session, "identity", "/me/consents"),
        page.api.get(page.session, "identity", "/organisations", limit=100),
    )
    granted = {c["organisation"]: set(c["purposes"]) for c in ledger.get("current", [])}
    names = {o["slug"]: o["name"] for o in organisations.get("items", [])}
    return {
        "organisations": [
            {"slug": slug, "name": name, "granted": granted.get(slug, set())}
            for slug, name in sorted(names.items(), key=lambda kv: kv[1])
        ],
        "history": ledger.get("history", []),
        "names": names,
        "purposes": PURPOSES,
    }


@router.get("")
async def overview(page: PageDep) -> Response:
    page.require()
    return page.render(
        "mydata/consents.html", title=page.t("mydata_title"), **await _consents(page)
    )


async def set_consent(page: Page, organisation: str, purpose: str, *, grant: bool) -> None:
    """Grant or revoke the resident's consent at identity (the my-data page and the learning
    page's "share progress" both change consent this way)."""
    if grant:
        await page.api.json(
            page.session,
            "POST",
            "identity",
            "/me/consents",
            json={"organisation": organisation, "purpose": purpose},
        )
    else:
        await page.api.json(
            page.session, "DELETE", "identity", f"/me/consents/{organisation}/{purpose}"
        )


@router.post("/consents")
async def change_consent(page: PageDep, form: Form) -> Response:
    page.require()
    organisation, purpose = field(form, "organisation"), field(form, "purpose")
    if purpose not in PURPOSES:
        return page.redirect("/my-data")
    grant = field(form, "action") != "revoke"
    await set_consent(page, organisation, purpose, grant=grant)
    page.flash("consent_granted" if grant else "consent_revoked")
    if page.is_htmx:
        return page.render("mydata/_consents.html", **await _consents(page))
    return page.redirect("/my-data")


@router.get("/access-log")
async def access_log(page: PageDep, cursor: str | None = None) -> Response:
    page.require()
    found = await page.api.get(page.session, "identity", "/me/access-log", limit=20, cursor=cursor)
    return page.render(
        "mydata/access.html",
        title=page.t("access_title"),
        items=found.get("items", []),
        next_cursor=found.get("next_cursor"),
    )


async def _exports(page: Page) -> list[dict[str, Any]]:
    found = await page.api.get(page.session, "identity", "/me/exports")
    items: list[dict[str, Any]] = found.get("items", [])
    return sorted(items, key=lambda e: str(e.get("requested_at")), reverse=True)


@router.get("/export")
async def export_page(page: PageDep) -> Response:
    page.require()
    return page.render(
        "mydata/export.html", title=page.t("export_title"), exports=await _exports(page)
    )


@router.get("/export/status")
async def export_status(page: PageDep) -> Response:
    page.require()
    return fragment_or_redirect(
        page, "mydata/_exports.html", "/my-data/export", exports=await _exports(page)
    )


@router.post("/export")
async def request_export(page: PageDep, _: Form) -> Response:
    page.require()
    await page.api.json(page.session, "POST", "identity", "/me/exports")
    page.flash("export_requested")
    return page.redirect("/my-data/export")


@router.get("/exports/{export_id}/archive")
async def archive(page: PageDep, export_id: str) -> Response:
    """The zip from identity, passed through: the browser never holds a token."""
    page.require()
    answer = await page.api.request(
        page.session, "GET", "identity", f"/me/exports/{export_id}/archive"
    )
    if answer.status_code != 200:
        raise ApiError(answer.status_code, {})
    return Response(
        answer.content,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="mijn-gegevens.zip"'},
    )


async def _erasure(page: Page) -> dict[str, Any] | None:
    try:
        status: dict[str, Any] = await page.api.get(page.session, "identity", "/me/erasure")
    except ApiError as error:
        if error.status == 404:
            return None
        raise
    return status


def _progress(status: dict[str, Any] | None) -> dict[str, Any] | None:
    if status is None:
        return None
    expected = list(status.get("expected_services") or SERVICES)
    pending = set(status.get("pending_services") or [])
    return {
        "phase": status.get("status", "pending"),
        "services": [{"name": s, "done": s not in pending} for s in expected],
        "done": len([s for s in expected if s not in pending]),
        "total": len(expected),
        "requested_at": status.get("requested_at"),
    }


@router.get("/erasure")
async def erasure_page(page: PageDep) -> Response:
    page.require()
    progress = _progress(await _erasure(page))
    return page.render(
        "mydata/erasure.html", title=page.t("erasure_title"), progress=progress, error=None
    )


@router.get("/erasure/status")
async def erasure_status(page: PageDep) -> Response:
    page.require()
    progress = _progress(await _erasure(page))
    return fragment_or_redirect(page, "mydata/_erasure.html", "/my-data/erasure", progress=progress)


@router.post("/erasure")
async def request_erasure(page: PageDep, form: Form) -> Response:
    page.require()
    if field(form, "confirm") != "yes":
        return page.render(
            "mydata/erasure.html",
            status=422,
            title=page.t("erasure_title"),
            progress=None,
            error=page.t("erasure_must_confirm"),
        )
    await page.api.json(page.session, "POST", "identity", "/me/erasure")
    page.flash("erasure_requested")
    return page.redirect("/my-data/erasure")
