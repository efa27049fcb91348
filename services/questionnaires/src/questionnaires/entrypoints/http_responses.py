"""Responses of logged-in residents and assisted mode, result views and sharing.

Who may see and change what is decided in `service/access.py` (README "Roles and sharing");
every view by someone else is access-logged (`service/sharing.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from wijkkracht_common.auth import PersonPrincipal
from wijkkracht_common.pagination import CursorParam, LimitParam

from questionnaires.entrypoints.deps import (
    AttachResponse,
    CompareParam,
    Ctx,
    FastJSONResponse,
    InvitationShareChoice,
    LangParam,
    SaveAnswers,
    StartResponse,
    SubmitBody,
)
from questionnaires.service import invitation_answers, invitations, responses, results
from questionnaires.service.sharing import log_view

router = APIRouter(tags=["responses"])
SVG = "image/svg+xml"
REPLAY = {"Idempotent-Replay": "true"}


@router.post("/responses", status_code=201)
async def start_response(
    body: StartResponse, request: Request, principal: PersonPrincipal, ctx: Ctx
) -> JSONResponse:
    """Start for yourself, for a resident in assisted mode (`person_id` + `organisation`), or
    from an invitation (`invitation_id`)."""
    authorised = await responses.authorise_start(
        ctx,
        principal,
        instrument_id=body.instrument_id,
        version=body.version,
        person_id=body.person_id,
        organisation=body.organisation,
        invitation_id=body.invitation_id,
    )

    async def produce() -> tuple[int, Any]:
        record = await responses.start_authorised(
            ctx, authorised, language=body.language, params=body.params
        )
        return 201, responses.present(record)

    return await ctx.uow.idempotent(
        principal.tenant,
        key=request.headers.get("idempotency-key"),
        scope=f"{principal.subject}:start",
        body=body.model_dump(),
        produce=produce,
    )


@router.get("/responses")
async def my_responses(
    principal: PersonPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The caller's own responses (newest last), without answers."""
    items, next_cursor = await responses.own_page(ctx, principal, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.patch("/responses/{response_id}")
async def save_answers(
    response_id: str, body: SaveAnswers, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """Partial save (merge); an empty answer `{}` clears an earlier one."""
    return responses.present(await responses.save_as(ctx, principal, response_id, body.answers))


@router.post("/responses/{response_id}/submit")
async def submit(
    response_id: str,
    request: Request,
    principal: PersonPrincipal,
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
    record = await responses.load_changeable(ctx, principal, response_id)
    out, replayed = await responses.submit_as(
        ctx, principal, record, answers=payload.answers, key=key
    )
    return FastJSONResponse(out, headers=REPLAY if replayed else None)


@router.put("/responses/{response_id}/invitation-share")
async def choose_invitation_share(
    response_id: str, body: InvitationShareChoice, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """At the end of an invited response: may the inviting organisation see the answers
    (`invitation_share` in the response says it in plain words)? Yes: shared with that
    organisation, and identity records it as `share_results` consent. Only the resident the
    response belongs to (404 otherwise); the same choice again changes nothing; "no" after
    "yes" is taken back in identity's consents (409)."""
    return await invitation_answers.choose_as(ctx, principal, response_id, share=body.share)


@router.post("/responses/{response_id}/attachment")
async def attach_response(
    response_id: str, body: AttachResponse, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """Attach a response filled in from an invitation's e-mail link (without an account) to
    the caller's account; proof: the token of the link in the e-mail. 404 for a wrong token
    or another person's response; again: the same answer."""
    return await invitation_answers.attach(ctx, principal, response_id, body.invitation_token)


@router.get("/responses/{response_id}")
async def get_response(
    response_id: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    include: Annotated[
        Literal["earlier"] | None,
        Query(
            description="`earlier`: add the resident's own previous submitted response of the"
            " same family (without answers; null when this is the first), for the trend in"
            " one call. Only for the resident themself (403 otherwise)."
        ),
    ] = None,
) -> dict[str, Any]:
    record, viewer = await responses.load_readable(ctx, principal, response_id)
    earlier = await responses.own_earlier(ctx, principal, record, viewer) if include else None
    await log_view(ctx, principal, record, viewer, what="answers")
    out = responses.present(record)
    if include:
        out["earlier"] = (
            None if earlier is None else responses.present(earlier, include_answers=False)
        )
    return out


@router.get("/responses/{response_id}/chart.svg", response_class=Response)
async def chart(
    response_id: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    lang: LangParam = None,
    compare_with: CompareParam = None,
) -> Response:
    """Spider web; `compare_with` overlays an earlier response (own trend)."""
    record, viewer = await responses.load_readable(ctx, principal, response_id)
    earlier = await results.earlier_to_compare(ctx, principal, record, compare_with)
    svg = await results.chart_svg(ctx, principal.tenant, record, language=lang, earlier=earlier)
    await log_view(ctx, principal, record, viewer, what="chart")
    return Response(svg, media_type=SVG)


@router.get("/responses/{response_id}/talk-about")
async def talk_about(
    response_id: str, principal: PersonPrincipal, ctx: Ctx, lang: LangParam = None
) -> dict[str, Any]:
    """The "Hier wil ik over praten / I want to talk about this" items."""
    record, viewer = await responses.load_readable(ctx, principal, response_id)
    out = await results.talk_items(ctx, principal.tenant, record, lang)
    await log_view(ctx, principal, record, viewer, what="talk-about")
    return out


@router.get("/responses/{response_id}/printable", response_class=HTMLResponse)
async def printable(
    response_id: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    lang: LangParam = None,
    compare_with: CompareParam = None,
) -> HTMLResponse:
    """Printable HTML of answers and topics, for the appointment."""
    record, viewer = await responses.load_readable(ctx, principal, response_id)
    earlier = await results.earlier_to_compare(ctx, principal, record, compare_with)
    html = await results.printable(ctx, principal.tenant, record, language=lang, earlier=earlier)
    await log_view(ctx, principal, record, viewer, what="printable")
    return HTMLResponse(html)


@router.get("/responses/{response_id}/fhir")
async def fhir_export(response_id: str, principal: PersonPrincipal, ctx: Ctx) -> JSONResponse:
    """FHIR R4 QuestionnaireResponse: the resident themself, or staff of an organisation the
    resident gave `share_with_gp` consent (403 with only `share_results`)."""
    record, viewer = await responses.load_readable(ctx, principal, response_id)
    body = await results.fhir_export(ctx, principal, record, viewer)
    return JSONResponse(body, media_type="application/fhir+json")


@router.get("/people/{person_id}/responses")
async def responses_of_person(
    person_id: str,
    principal: PersonPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Submitted responses a resident shared with one of the caller's organisations."""
    items, next_cursor = await responses.shared_page(
        ctx, principal, person_id, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/me/invitations")
async def my_invitations(
    principal: PersonPrincipal, ctx: Ctx, limit: LimitParam = 20, cursor: CursorParam = None
) -> dict[str, Any]:
    items, next_cursor = await invitations.own_page(ctx, principal, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}
