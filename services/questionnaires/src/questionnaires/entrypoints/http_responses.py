"""Responses of logged-in residents and assisted mode, result views and sharing.

Visibility (see README): own responses; the assisting professional/volunteer; other staff only
with the resident's `share_results` consent for their organisation (else 404). FHIR export by
someone else needs `share_with_gp`. Every view by someone else is access-logged.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from wijkkracht_common.access_log import record_access
from wijkkracht_common.auth import CurrentPrincipal, Principal
from wijkkracht_common.errors import Forbidden, InvalidInput, field_error
from wijkkracht_common.idempotency import idempotent
from wijkkracht_common.pagination import CursorParam, LimitParam, paginate

from questionnaires.adapters.documents import INVITATIONS, RESPONSES
from questionnaires.entrypoints.deps import (
    CompareParam,
    Ctx,
    FastJSONResponse,
    LangParam,
    SaveAnswers,
    StartResponse,
    SubmitBody,
)
from questionnaires.service import invitations, responses, results
from questionnaires.service.consents import (
    STAFF_ROLES,
    Viewer,
    consenting_orgs,
    log_view,
    viewer_of,
)
from questionnaires.service.context import Context
from questionnaires.service.problems import not_found

router = APIRouter(tags=["responses"])
SVG = "image/svg+xml"
REPLAY = {"Idempotent-Replay": "true"}


def _staff_in(principal: Principal, organisation: str | None) -> str:
    if organisation is None:
        raise InvalidInput(
            "Geef de organisatie op. / Give the organisation.",
            errors=[field_error("organisation", "required in assisted mode")],
        )
    if not principal.roles_in(organisation).intersection(STAFF_ROLES):
        raise Forbidden(
            "Invullen samen met een bewoner kan alleen als professional of "
            "vrijwilliger van deze organisatie. / Assisted mode needs the "
            "professional or volunteer role in this organisation.",
            required_roles=list(STAFF_ROLES),
        )
    return organisation


@router.post("/responses", status_code=201)
async def start_response(
    body: StartResponse, request: Request, principal: CurrentPrincipal, ctx: Ctx
) -> JSONResponse:
    """Start for yourself, for a resident in assisted mode (`person_id` + `organisation`), or
    from an invitation (`invitation_id`)."""
    if principal.person_id is None:
        raise Forbidden("Een persoon moet zijn aangemeld. / A person must be logged in.")
    tenant = principal.tenant
    person_id, assisted_by, organisation = principal.person_id, None, None
    if body.person_id is not None and body.person_id != principal.person_id:
        organisation = _staff_in(principal, body.organisation)
        person_id, assisted_by = body.person_id, principal.subject
    invitation = None
    instrument_id, version = body.instrument_id, body.version
    if body.invitation_id is not None:
        invitation = await invitations.load(ctx, tenant, body.invitation_id)
        if invitation.get("person_id") != person_id:
            raise not_found("Uitnodiging")
        if invitation["instrument_id"] != instrument_id:
            raise InvalidInput(
                "De uitnodiging is voor een andere vragenlijst. / The invitation "
                "is for another questionnaire.",
                errors=[field_error("instrument_id", "not the invited one")],
            )
        invitations.ensure_startable(invitation)
        organisation = organisation or invitation.get("organisation")

    async def produce() -> tuple[int, Any]:
        doc, _ = await responses.start(
            ctx,
            tenant,
            instrument_id=instrument_id,
            version=version,
            language=body.language,
            person_id=person_id,
            actor=principal.subject,
            assisted_by=assisted_by,
            organisation=organisation,
            invitation=invitation,
            params=body.params,
        )
        if assisted_by is not None:
            db = await ctx.db(tenant)
            await record_access(
                db,
                service="questionnaires",
                principal=principal,
                resident=person_id,
                action="create",
                resource=f"response/{doc['_id']}",
                reason="assisted",
                on_behalf_of=organisation,
            )
            ctx.runtime.notify_relay(principal.tenant)
        return 201, responses.present(doc)

    db = await ctx.db(tenant)
    return await idempotent(
        db,
        key=request.headers.get("idempotency-key"),
        scope=f"{principal.subject}:start",
        body=body.model_dump(),
        produce=produce,
    )


@router.get("/responses")
async def my_responses(
    principal: CurrentPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The caller's own responses (newest last), without answers."""
    db = await ctx.db(principal.tenant)
    docs, next_cursor = await paginate(
        db[RESPONSES], {"person_id": principal.person_id or "-"}, limit=limit, cursor=cursor
    )
    return {
        "items": [responses.present(d, include_answers=False) for d in docs],
        "next_cursor": next_cursor,
    }


async def _writable(ctx: Context, principal: Principal, response_id: str) -> dict[str, Any]:
    doc = await responses.load(ctx, principal.tenant, response_id)
    owner = doc.get("person_id") is not None and doc.get("person_id") == principal.person_id
    assisting = doc.get("assisted_by") == principal.subject
    if not (owner or assisting):
        raise not_found("Vragenlijst-antwoord")
    return doc


async def _readable(
    ctx: Context, principal: Principal, response_id: str
) -> tuple[dict[str, Any], Viewer]:
    doc = await responses.load(ctx, principal.tenant, response_id)
    db = await ctx.db(principal.tenant)
    viewer = await viewer_of(db, principal, doc)
    if viewer is None:
        raise not_found("Vragenlijst-antwoord")
    return doc, viewer


@router.patch("/responses/{response_id}")
async def save_answers(
    response_id: str, body: SaveAnswers, principal: CurrentPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """Partial save (merge); an empty answer `{}` clears an earlier one."""
    doc = await _writable(ctx, principal, response_id)
    assisted_by = principal.subject if doc.get("assisted_by") == principal.subject else None
    return responses.present(
        await responses.save(ctx, principal.tenant, doc, body.answers, assisted_by=assisted_by)
    )


@router.post("/responses/{response_id}/submit")
async def submit(
    response_id: str,
    request: Request,
    principal: CurrentPrincipal,
    ctx: Ctx,
    body: SubmitBody | None = None,
) -> JSONResponse:
    """Scores and freezes the response. Again: 409; again with the same Idempotency-Key: the
    first result (the key is kept on the response itself, see README)."""
    payload = body or SubmitBody()
    key = responses.submit_key(
        request.headers.get("idempotency-key"),
        principal.subject,
        lambda: payload.model_dump(mode="json"),
    )
    doc = await _writable(ctx, principal, response_id)
    out, replayed = await responses.submit(
        ctx, principal.tenant, doc, actor=principal.subject, answers=payload.answers, key=key
    )
    return FastJSONResponse(out, headers=REPLAY if replayed else None)


@router.get("/responses/{response_id}")
async def get_response(response_id: str, principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    doc, viewer = await _readable(ctx, principal, response_id)
    await log_view(ctx, principal, doc, viewer, what="answers")
    return responses.present(doc)


async def _earlier(
    ctx: Context, principal: Principal, doc: dict[str, Any], compare_with: str | None
) -> dict[str, Any] | None:
    if compare_with is None:
        return None
    earlier, _ = await _readable(ctx, principal, compare_with)
    results.check_comparable(doc, earlier)
    return earlier


@router.get("/responses/{response_id}/chart.svg", response_class=Response)
async def chart(
    response_id: str,
    principal: CurrentPrincipal,
    ctx: Ctx,
    lang: LangParam = None,
    compare_with: CompareParam = None,
) -> Response:
    """Spider web; `compare_with` overlays an earlier response (own trend)."""
    doc, viewer = await _readable(ctx, principal, response_id)
    earlier = await _earlier(ctx, principal, doc, compare_with)
    svg = await results.chart_svg(ctx, principal.tenant, doc, language=lang, earlier=earlier)
    await log_view(ctx, principal, doc, viewer, what="chart")
    return Response(svg, media_type=SVG)


@router.get("/responses/{response_id}/talk-about")
async def talk_about(
    response_id: str, principal: CurrentPrincipal, ctx: Ctx, lang: LangParam = None
) -> dict[str, Any]:
    """The "Hier wil ik over praten / I want to talk about this" items."""
    doc, viewer = await _readable(ctx, principal, response_id)
    out = await results.talk_items(ctx, principal.tenant, doc, lang)
    await log_view(ctx, principal, doc, viewer, what="talk-about")
    return out


@router.get("/responses/{response_id}/printable", response_class=HTMLResponse)
async def printable(
    response_id: str,
    principal: CurrentPrincipal,
    ctx: Ctx,
    lang: LangParam = None,
    compare_with: CompareParam = None,
) -> HTMLResponse:
    """Printable HTML of answers and topics, for the appointment."""
    doc, viewer = await _readable(ctx, principal, response_id)
    earlier = await _earlier(ctx, principal, doc, compare_with)
    html = await results.printable(ctx, principal.tenant, doc, language=lang, earlier=earlier)
    await log_view(ctx, principal, doc, viewer, what="printable")
    return HTMLResponse(html)


@router.get("/responses/{response_id}/fhir")
async def fhir_export(response_id: str, principal: CurrentPrincipal, ctx: Ctx) -> JSONResponse:
    """FHIR R4 QuestionnaireResponse: the resident themself, or staff of an organisation the
    resident gave `share_with_gp` consent (403 with only `share_results`)."""
    doc, viewer = await _readable(ctx, principal, response_id)
    if not viewer.is_owner:
        db = await ctx.db(principal.tenant)
        orgs = (
            await consenting_orgs(db, principal, doc["person_id"], "share_with_gp")
            if doc.get("person_id")
            else []
        )
        if not orgs:
            raise Forbidden(
                "Hiervoor is toestemming 'delen met huisarts' nodig. / This needs "
                "the resident's 'share with GP' consent.",
                kind="consent-required",
                consent="share_with_gp",
            )
        viewer = Viewer("share_with_gp", orgs[0])
    body = await results.fhir(ctx, principal.tenant, doc)
    await log_view(
        ctx,
        principal,
        doc,
        viewer,
        what="fhir",
        action="export",
        share_format="fhir_r4",
        shared_with="gp",
    )
    return JSONResponse(body, media_type="application/fhir+json")


@router.get("/people/{person_id}/responses")
async def responses_of_person(
    person_id: str,
    principal: CurrentPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Submitted responses a resident shared with one of the caller's organisations."""
    db = await ctx.db(principal.tenant)
    orgs = await consenting_orgs(db, principal, person_id[:64], "share_results")
    if not orgs:
        raise not_found("Gedeelde resultaten")
    docs, next_cursor = await paginate(
        db[RESPONSES], {"person_id": person_id, "status": "submitted"}, limit=limit, cursor=cursor
    )
    await record_access(
        db,
        service="questionnaires",
        principal=principal,
        resident=person_id,
        action="read",
        resource="responses",
        reason="share_results",
        on_behalf_of=orgs[0],
    )
    ctx.runtime.notify_relay(principal.tenant)
    return {
        "items": [responses.present(d, include_answers=False) for d in docs],
        "next_cursor": next_cursor,
    }


@router.get("/me/invitations")
async def my_invitations(
    principal: CurrentPrincipal, ctx: Ctx, limit: LimitParam = 20, cursor: CursorParam = None
) -> dict[str, Any]:
    db = await ctx.db(principal.tenant)
    docs, next_cursor = await paginate(
        db[INVITATIONS], {"person_id": principal.person_id or "-"}, limit=limit, cursor=cursor
    )
    return {"items": [invitations.present(d) for d in docs], "next_cursor": next_cursor}
