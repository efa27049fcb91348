"""Anonymous self-assessments and e-mail invitation links: no token, the tenant from the path.

The tenant must be a valid slug and known to the service; the resume token (random, stored
hashed) is the only credential of an anonymous response, sent in the `X-Resume-Token` header.
Starts are rate-limited per client address and tenant, and bodies are bounded in size.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from wijkkracht_common.errors import TooManyRequests
from wijkkracht_common.tenancy import PLATFORM_TENANT, is_valid_slug

from questionnaires.entrypoints.deps import (
    AnonymousStart,
    Ctx,
    FastJSONResponse,
    LangParam,
    SaveAnswers,
    SubmitBody,
    body_limit,
)
from questionnaires.service import invitations, responses, results
from questionnaires.service.context import Context
from questionnaires.service.problems import not_found
from questionnaires.service.projections import is_known_tenant

router = APIRouter(
    prefix="/tenants/{tenant}", tags=["anonymous"], dependencies=[body_limit("max_anonymous_body")]
)
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


async def _tenant(ctx: Context, tenant: str) -> str:
    if (
        tenant == PLATFORM_TENANT
        or not is_valid_slug(tenant)
        or not await is_known_tenant(ctx, tenant)
    ):
        raise not_found("Omgeving")
    return tenant


def _limit(request: Request, ctx: Context, tenant: str) -> None:
    limiter: RateLimiter = request.app.state.anonymous_limiter
    client = request.client.host if request.client else "unknown"
    limiter.check(f"{client}:{tenant}", ctx.settings.anonymous_starts_per_minute)


def _started(doc: dict[str, Any], token: str | None) -> dict[str, Any]:
    return {"response": responses.present(doc), "resume_token": token}


@router.post("/anonymous-responses", status_code=201)
async def start_anonymous(
    tenant: TenantPath, body: AnonymousStart, request: Request, ctx: Ctx
) -> dict[str, Any]:
    """Start without an account; keep `resume_token` to continue later (shown once)."""
    await _tenant(ctx, tenant)
    _limit(request, ctx, tenant)
    doc, token = await responses.start(
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
    return _started(doc, token)


async def _anonymous(
    ctx: Context, tenant: str, response_id: str, token: str | None
) -> dict[str, Any]:
    await _tenant(ctx, tenant)
    doc = await responses.load(ctx, tenant, response_id)
    if doc.get("person_id") is not None or not responses.token_matches(
        token, doc.get("resume_hash")
    ):
        raise not_found("Vragenlijst-antwoord")
    return doc


@router.get("/anonymous-responses/{response_id}")
async def get_anonymous(
    tenant: TenantPath, response_id: str, ctx: Ctx, x_resume_token: ResumeToken = None
) -> dict[str, Any]:
    return responses.present(await _anonymous(ctx, tenant, response_id, x_resume_token))


@router.patch("/anonymous-responses/{response_id}")
async def save_anonymous(
    tenant: TenantPath,
    response_id: str,
    body: SaveAnswers,
    ctx: Ctx,
    x_resume_token: ResumeToken = None,
) -> dict[str, Any]:
    doc = await _anonymous(ctx, tenant, response_id, x_resume_token)
    return responses.present(await responses.save(ctx, tenant, doc, body.answers))


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
    doc = await _anonymous(ctx, tenant, response_id, x_resume_token)
    out, replayed = await responses.submit(
        ctx, tenant, doc, actor=None, answers=payload.answers, key=key
    )
    return FastJSONResponse(out, headers={"Idempotent-Replay": "true"} if replayed else None)


@router.get("/anonymous-responses/{response_id}/chart.svg", response_class=Response)
async def chart_anonymous(
    tenant: TenantPath,
    response_id: str,
    ctx: Ctx,
    lang: LangParam = None,
    x_resume_token: ResumeToken = None,
) -> Response:
    doc = await _anonymous(ctx, tenant, response_id, x_resume_token)
    return Response(
        await results.chart_svg(ctx, tenant, doc, language=lang), media_type="image/svg+xml"
    )


@router.get("/anonymous-responses/{response_id}/talk-about")
async def talk_anonymous(
    tenant: TenantPath,
    response_id: str,
    ctx: Ctx,
    lang: LangParam = None,
    x_resume_token: ResumeToken = None,
) -> dict[str, Any]:
    doc = await _anonymous(ctx, tenant, response_id, x_resume_token)
    return await results.talk_items(ctx, tenant, doc, lang)


@router.get("/anonymous-responses/{response_id}/printable", response_class=HTMLResponse)
async def printable_anonymous(
    tenant: TenantPath,
    response_id: str,
    ctx: Ctx,
    lang: LangParam = None,
    x_resume_token: ResumeToken = None,
) -> HTMLResponse:
    doc = await _anonymous(ctx, tenant, response_id, x_resume_token)
    return HTMLResponse(await results.printable(ctx, tenant, doc, language=lang, earlier=None))


async def _invitation_by_token(ctx: Context, tenant: str, token: str) -> dict[str, Any]:
    await _tenant(ctx, tenant)
    return await invitations.by_link_token(ctx, tenant, token)


@router.get("/invitation-links/{token}")
async def open_invitation_link(tenant: TenantPath, token: str, ctx: Ctx) -> dict[str, Any]:
    """The link in an invitation e-mail: marks the invitation `opened`."""
    doc = await _invitation_by_token(ctx, tenant, token)
    doc = await invitations.mark_opened(ctx, tenant, doc)
    out = invitations.present(doc)
    out.pop("invited_by", None)
    return out


@router.post("/invitation-links/{token}/responses", status_code=201)
async def start_from_link(tenant: TenantPath, token: str, ctx: Ctx) -> dict[str, Any]:
    """Start the invited questionnaire without an account (anonymous, linked to the
    invitation); returns a resume token like any anonymous response."""
    doc = await _invitation_by_token(ctx, tenant, token)
    invitations.ensure_startable(doc)
    response, resume = await responses.start(
        ctx,
        tenant,
        instrument_id=doc["instrument_id"],
        version=None,
        language=doc.get("language"),
        person_id=None,
        actor=None,
        organisation=doc.get("organisation"),
        invitation=doc,
        anonymous=True,
    )
    return _started(response, resume)
