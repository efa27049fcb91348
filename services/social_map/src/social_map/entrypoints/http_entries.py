"""Entries, owner records, reports/tasks, freshness overview and the one-click link.

Reading owner records and entries is catalogue data (machine clients of the tenant too);
writes, reports and the owners' work need a person; the one-click link is public (the signed
link is the credential)."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from wijkkracht_common.auth import MachinePrincipal, PersonPrincipal
from wijkkracht_common.http_app import json_body
from wijkkracht_common.idempotency import idempotency_key, idempotent

from social_map.domain.model import Organization
from social_map.domain.verification_token import TokenError, TokenProblem
from social_map.entrypoints.deps import Ctx
from social_map.entrypoints.views import entry_view, overview_view, task_view
from social_map.service import entries as uc
from social_map.service import organisations
from social_map.service.freshness import organisation_overview

router = APIRouter(tags=["entries"])


class ReportIn(BaseModel):
    note: str = Field(default="", max_length=280, description="what is wrong (short)")


@router.get("/organisations")
async def list_organisations(principal: MachinePrincipal, ctx: Ctx) -> dict[str, Any]:
    orgs = await organisations.list_organisations(ctx, principal)
    return {"items": [o.model_dump(mode="json") for o in orgs]}


@router.put("/organisations/{org_id}")
async def put_organisation(
    org_id: str, org: Organization, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """Owner record of entries: an org admin for its own organisation; the neighbourhood
    manager for anyone, including residents' initiatives."""
    record = await organisations.put_organisation(ctx, principal, org_id, org)
    return record.model_dump(mode="json")


@router.post("/entries", status_code=201)
async def create_entry(
    draft: uc.EntryDraft, request: Request, principal: PersonPrincipal, ctx: Ctx
) -> JSONResponse:
    async def produce() -> tuple[int, Any]:
        stored = await uc.create_entry(ctx, principal, draft)
        policy = (await ctx.view(principal.tenant)).policy
        return 201, json_body(entry_view(stored, policy=policy, now=ctx.now(), manager=True))

    return await idempotent(
        await ctx.db(principal.tenant),
        key=idempotency_key(request),
        scope=f"{principal.subject}:entries",
        body=draft.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/entries/{entry_id}")
async def get_entry(entry_id: str, principal: MachinePrincipal, ctx: Ctx) -> dict[str, Any]:
    stored, manager = await uc.read_entry(ctx, principal, entry_id)
    policy = (await ctx.view(principal.tenant)).policy
    return entry_view(stored, policy=policy, now=ctx.now(), manager=manager)


@router.put("/entries/{entry_id}")
async def update_entry(
    entry_id: str, draft: uc.EntryDraft, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    stored = await uc.update_entry(ctx, principal, entry_id, draft)
    policy = (await ctx.view(principal.tenant)).policy
    return entry_view(stored, policy=policy, now=ctx.now(), manager=True)


@router.post("/entries/{entry_id}/verification")
async def verify_entry(entry_id: str, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """ "Klopt nog": the owner confirms the entry (resets the freshness clock)."""
    stored = await uc.verify_entry(ctx, principal, entry_id)
    policy = (await ctx.view(principal.tenant)).policy
    return entry_view(stored, policy=policy, now=ctx.now(), manager=True)


@router.post("/entries/{entry_id}/reports", status_code=201)
async def report_outdated(
    entry_id: str,
    request: Request,
    principal: PersonPrincipal,
    ctx: Ctx,
    report: Annotated[ReportIn, Body()] = ReportIn(),
) -> JSONResponse:
    """ "Dit klopt niet meer": anyone signed in; becomes a task for the owner."""

    async def produce() -> tuple[int, Any]:
        task = await uc.report_outdated(ctx, principal, entry_id, report.note)
        return 201, {"id": task.id, "entry_id": entry_id, "status": "open"}

    return await idempotent(
        await ctx.db(principal.tenant),
        key=idempotency_key(request),
        scope=f"{principal.subject}:reports:{entry_id}",
        body=report.model_dump(),
        produce=produce,
    )


@router.get("/tasks")
async def list_tasks(
    principal: PersonPrincipal,
    ctx: Ctx,
    status: Annotated[str | None, Query(pattern="^(open|done)$")] = "open",
) -> dict[str, Any]:
    return {"items": [task_view(t) for t in await uc.tasks(ctx, principal, status)]}


@router.get("/freshness")
async def freshness_overview(principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """Counts per state and the least recently checked entries, per owner organisation."""
    items = await organisation_overview(ctx, principal, ctx.now())
    return {"items": [overview_view(i) for i in items]}


# --- one-click link from the reminder mail (no login: the signed link is the credential) ---

_PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>body{{font:18px/1.5 system-ui,sans-serif;max-width:36em;
margin:2em auto;padding:0 1em}}button{{font-size:1.2em;padding:.6em 1.4em}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""

_LINK_ERRORS = {
    TokenProblem.EXPIRED: (410, "Deze link is verlopen. / This link has expired."),
    TokenProblem.ENTRY_CHANGED: (
        410,
        "Het aanbod is intussen gewijzigd of al bevestigd. / "
        "The entry was changed or confirmed in the meantime.",
    ),
}


def _link_error(error: TokenError) -> HTMLResponse:
    status, text = _LINK_ERRORS.get(
        error.problem, (404, "Deze link is ongeldig. / This link is not valid.")
    )
    return HTMLResponse(_PAGE.format(title="Link werkt niet", body=f"<p>{text}</p>"), status)


@router.get("/verification/{token}", response_class=HTMLResponse, include_in_schema=False)
async def verification_page(token: str, ctx: Ctx) -> HTMLResponse:
    """Shows what will be confirmed; GET changes nothing (mail scanners prefetch links)."""
    try:
        stored = await uc.link_target(ctx, token)
    except TokenError as error:
        return _link_error(error)
    body = (
        f"<p>Klopt de informatie over <strong>{escape(stored.entry.name)}</strong> nog? / "
        f"Is the information about this entry still correct?</p>"
        f'<form method="post" action="{escape(ctx.public_url(f"verification/{quote(token)}"))}">'
        f'<button type="submit">Ja, dit klopt nog / Yes, still correct</button></form>'
    )
    return HTMLResponse(_PAGE.format(title="Klopt dit nog?", body=body))


@router.post("/verification/{token}", response_class=HTMLResponse, include_in_schema=False)
async def verification_confirm(token: str, ctx: Ctx) -> HTMLResponse:
    try:
        stored = await uc.verify_by_link(ctx, token)
    except TokenError as error:
        return _link_error(error)
    body = (
        f"<p>Bedankt! <strong>{escape(stored.entry.name)}</strong> is bevestigd. / Thank you, "
        f"the entry is confirmed.</p>"
    )
    return HTMLResponse(_PAGE.format(title="Bevestigd", body=body))
