"""Anonymous self-assessments and e-mail invitation links: no token, the tenant from the path.

The tenant must be a valid slug and known to the service; the resume token (random, stored
hashed) is the only credential of an anonymous response, sent in the `X-Resume-Token` header.
Starts are rate-limited per client address and tenant. Bodies are bounded by a limit smaller
than the platform's default: main.py includes this router with
`max_body_size=settings.max_anonymous_body` (413 problem, counted while the body arrives).
Every route here is public (no token is read).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from wijkkracht_common.errors import TooManyRequests

from questionnaires.domain.response_record import ResponseRecord
from questionnaires.entrypoints.deps import (
    AnonymousStart,
    Ctx,
    FastJSONResponse,
    InvitationShareChoice,
    LangParam,
    SaveAnswers,
    SubmitBody,
)
from questionnaires.service import (
    invitation_answers,
    invitations,
    responses,
    results,
    tenant_registry,
)
from questionnaires.service.context import Context

router = APIRouter(prefix="/tenants/{tenant}", tags=["anonymous"])
TenantPath = Annotated[str, Path(max_length=31)]
ResumeToken = Annotated[str | None, Header(alias="X-Resume-Token", max_length=200)]


class RateLimiter:
    """Sliding window per key, in process (a shared limiter belongs in the gateway)."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, per_minute: int) -> None:
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] > 60:
            hits.popleft()
        if len(hits) >= per_minute:
            raise TooManyRequests(
                "Te veel nieuwe vragenlijsten; probeer het over een minuut "
                "opnieuw. / Too many new questionnaires; try again in a "
                "minute.",
                headers={"Retry-After": "60"},
            )
        hits.append(now)
        if len(self._hits) > 10_000:  # bound memory: forget idle keys
            for k in [k for k, v in self._hits.items() if not v or now - v[-1] > 60]:
                del self._hits[k]


def _limit(request: Request, ctx: Context, tenant: str) -> None:
    limiter: RateLimiter = request.app.state.anonymous_limiter
    client = request.client.host if request.client else "unknown"
    limiter.check(f"{client}:{tenant}", ctx.settings.anonymous_starts_per_minute)


def _started(record: ResponseRecord, token: str | None) -> dict[str, Any]:
    return {"response": responses.present(record), "resume_token": token}


@router.post("/anonymous-responses", status_code=201)
async def start_anonymous(
    tenant: TenantPath, body: AnonymousStart, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """Start without an account; keep `resume_token` to continue later (shown once)."""
    await tenant_registry.require_known(ctx, tenant)
    _limit(request, ctx, tenant)
    record, token = await responses.start(
        ctx,
        tenant,
        instrument_id=body.instrument_id,
        version=body.version,
        language=body.language,
        person_id=None,
        actor=None,
        params=body.params,
        anonymous=True,
    )
    return _started(record, token)


@router.get("/anonymous-responses/{response_id}")
async def get_anonymous(
    tenant: TenantPath, response_id: str, ctx: Ctx, x_resume_token: ResumeToken = None
) -> dict[str, Any]:
    return responses.present(
        await responses.load_anonymous(ctx, tenant, response_id, x_resume_token)
    )


@router.patch("/anonymous-responses/{response_id}")
async def save_anonymous(
    tenant: TenantPath,
    response_id: str,
    body: SaveAnswers,
    ctx: Ctx,
    x_resume_token: ResumeToken = None,
) -> dict[str, Any]:
    record = await responses.load_anonymous(ctx, tenant, response_id, x_resume_token)
    return responses.present(await responses.save(ctx, tenant, record, body.answers))


@router.post("/anonymous-responses/{response_id}/submit")
async def submit_anonymous(
    tenant: TenantPath,
    response_id: str,
    request: Request,
    ctx: Ctx,
    body: SubmitBody | None = None,
    x_resume_token: ResumeToken = None,
) -> JSONResponse:
    payload = body or SubmitBody()
    key = responses.submit_key(
        request.headers.get("idempotency-key"), "anonymous", lambda: payload.model_dump(mode="json")
    )
    record = await responses.load_anonymous(ctx, tenant, response_id, x_resume_token)
    out, replayed = await responses.submit(
        ctx, tenant, record, actor=None, answers=payload.answers, key=key
    )
    return FastJSONResponse(out, headers={"Idempotent-Replay": "true"} if replayed else None)


@router.put("/anonymous-responses/{response_id}/invitation-share")
async def choose_invitation_share_anonymous(
    tenant: TenantPath,
    response_id: str,
    body: InvitationShareChoice,
    ctx: Ctx,
    x_resume_token: ResumeToken = None,
) -> dict[str, Any]:
    """The choice at the end of a response started from an invitation's e-mail link: may the
    inviting organisation see the answers? (Changeable here until the response is attached
    to an account.)"""
    record = await responses.load_anonymous(ctx, tenant, response_id, x_resume_token)
    return await invitation_answers.choose(ctx, tenant, record, share=body.share, actor=None)


@router.get("/anonymous-responses/{response_id}/chart.svg", response_class=Response)
async def chart_anonymous(
    tenant: TenantPath,
    response_id: str,
    ctx: Ctx,
    lang: LangParam = None,
    x_resume_token: ResumeToken = None,
) -> Response:
    record = await responses.load_anonymous(ctx, tenant, response_id, x_resume_token)
    return Response(
        await results.chart_svg(ctx, tenant, record, language=lang), media_type="image/svg+xml"
    )


@router.get("/anonymous-responses/{response_id}/talk-about")
async def talk_anonymous(
    tenant: TenantPath,
    response_id: str,
    ctx: Ctx,
    lang: LangParam = None,
    x_resume_token: ResumeToken = None,
) -> dict[str, Any]:
    record = await responses.load_anonymous(ctx, tenant, response_id, x_resume_token)
    return await results.talk_items(ctx, tenant, record, lang)


@router.get("/anonymous-responses/{response_id}/printable", response_class=HTMLResponse)
async def printable_anonymous(
    tenant: TenantPath,
    response_id: str,
    ctx: Ctx,
    lang: LangParam = None,
    x_resume_token: ResumeToken = None,
) -> HTMLResponse:
    record = await responses.load_anonymous(ctx, tenant, response_id, x_resume_token)
    return HTMLResponse(await results.printable(ctx, tenant, record, language=lang, earlier=None))


@router.get("/invitation-links/{token}")
async def open_invitation_link(tenant: TenantPath, token: str, ctx: Ctx) -> dict[str, Any]:
    """The link in an invitation e-mail: marks the invitation `opened`."""
    return await invitations.open_link(ctx, tenant, token)


@router.post("/invitation-links/{token}/responses", status_code=201)
async def start_from_link(tenant: TenantPath, token: str, ctx: Ctx) -> dict[str, Any]:
    """Start the invited questionnaire without an account (anonymous, linked to the
    invitation); returns a resume token like any anonymous response."""
    record, resume = await responses.start_from_link(ctx, tenant, token)
    return _started(record, resume)
