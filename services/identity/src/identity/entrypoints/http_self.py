"""Residents and staff about themselves: registration, profile, consent, access log, erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from wijkkracht_common.auth import PersonPrincipal
from wijkkracht_common.errors import NotFound, TooManyRequests, Unauthorized
from wijkkracht_common.idempotency import idempotency_key, idempotent
from wijkkracht_common.pagination import CursorParam, LimitParam

from identity.domain.consent import ConsentPurpose
from identity.domain.roles import Role
from identity.entrypoints.deps import Ctx, LivePerson, Professional, client_ip
from identity.entrypoints.downloads import ZIP_RESPONSE, zip_download
from identity.entrypoints.schemas import (
    AssistedRegistrationIn,
    ConsentIn,
    PasswordChange,
    ProfilePatch,
    RegistrationIn,
    access_line_out,
    consents_out,
    erasure_out,
    export_out,
    person_out,
)
from identity.service import consents, erasure, exports, people
from identity.service.access_log import own_log
from identity.service.context import NOT_FOUND
from identity.service.login import LoginRefused, check_current_password
from identity.service.oauth import load_client
from identity.service.problems import domain_call

router = APIRouter(tags=["self-service"])


@router.post("/registrations", status_code=201)
async def register(body: RegistrationIn, request: Request, ctx: Ctx) -> JSONResponse:
    """A resident registers through a member organisation's app: the tenant and the first
    organisation come from that app's client, never from the caller's input."""
    client = await load_client(ctx, body.client_id)
    if client is None or client.disabled:
        raise NotFound(NOT_FOUND)

    async def produce() -> tuple[int, Any]:
        person, _ = await domain_call(
            lambda: people.register_person(
                ctx,
                client.tenant,
                people.NewPerson(
                    display_name=body.display_name,
                    email=body.email,
                    password=body.password,
                    pc4=body.pc4,
                    birth_year=body.birth_year,
                    household_type=body.household_type,
                ),
                memberships=[(client.organisation, [Role.RESIDENT])],
                actor=None,
            )
        )
        return 201, {"id": person.id, "neighbourhood_code": person.neighbourhood_code}

    payload = body.model_dump(mode="json") | {"password": "***"}
    return await idempotent(
        await ctx.tenant_db(client.tenant),
        key=idempotency_key(request),
        scope=f"registration:{client.client_id}",
        body=payload,
        produce=produce,
    )


@router.post("/assisted-registrations", status_code=201)
async def assisted_register(
    body: AssistedRegistrationIn, request: Request, principal: Professional, ctx: Ctx
) -> JSONResponse:
    """A professional registers a resident without e-mail. The answer holds a one-time login
    code to print for the resident (shown once; only a keyed hash is stored)."""
    if not principal.roles_in(body.organisation) & {Role.PROFESSIONAL, Role.ORG_ADMIN}:
        raise NotFound(NOT_FOUND)

    async def produce() -> tuple[int, Any]:
        person, code = await domain_call(
            lambda: people.register_person(
                ctx,
                principal.tenant,
                people.NewPerson(
                    display_name=body.display_name,
                    pc4=body.pc4,
                    birth_year=body.birth_year,
                    household_type=body.household_type,
                ),
                memberships=[(body.organisation, [Role.RESIDENT])],
                actor=principal.subject,
                assisted=True,
                login_code_by=principal.subject,
            )
        )
        return 201, {
            "id": person.id,
            "neighbourhood_code": person.neighbourhood_code,
            "login_code": code,
        }

    return await idempotent(
        await ctx.tenant_db(principal.tenant),
        key=idempotency_key(request),
        scope=f"{principal.subject}:assisted",
        body=body.model_dump(mode="json"),
        produce=produce,
        # The code is shown once: a replay answers without it (ask for a new code instead).
        shown_once=("login_code",),
    )


@router.post("/people/{person_id}/login-codes", status_code=201)
async def new_login_code(person_id: str, principal: Professional, ctx: Ctx) -> dict[str, Any]:
    code, expires_at = await people.new_login_code(ctx, principal, person_id)
    return {"login_code": code, "expires_at": expires_at.isoformat()}


# ---- me ----------------------------------------------------------------------------------------


@router.get("/me")
async def get_me(principal: LivePerson, ctx: Ctx) -> dict[str, Any]:
    person, memberships, pending = await people.me(ctx, principal)
    return person_out(person, memberships, erasure_requested_at=pending)


@router.get("/me/token")
async def token_claims(principal: PersonPrincipal) -> dict[str, Any]:
    """What the presented access token says (verification only, no database read, so no
    deny-list either: only the verifier and its revocations decide). A person's token only:
    a machine (client-credentials) token gets 403 `person-required`."""
    return {
        "sub": principal.subject,
        "tenant": principal.tenant,
        "client_id": principal.client_id,
        "roles": sorted(principal.roles),
        "orgs": {o: sorted(r) for o, r in principal.orgs.items()},
        "scope": " ".join(sorted(principal.scopes)),
    }


@router.patch("/me")
async def patch_me(body: ProfilePatch, principal: LivePerson, ctx: Ctx) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    await domain_call(lambda: people.update_profile(ctx, principal, changes=changes))
    person, memberships, pending = await people.me(ctx, principal)
    return person_out(person, memberships, erasure_requested_at=pending)


@router.put("/me/password", status_code=204)
async def change_password(
    body: PasswordChange, request: Request, principal: LivePerson, ctx: Ctx
) -> None:
    person = await people.calling_person(ctx, principal)
    try:
        await check_current_password(ctx, person, body.current_password, client_ip(request))
    except LoginRefused as refused:
        if refused.retry_after is not None:
            raise TooManyRequests(
                str(refused.text), headers={"Retry-After": str(refused.retry_after)}
            ) from None
        raise Unauthorized(str(refused.text)) from None
    await people.change_password(ctx, person, body.new_password)


@router.get("/me/consents")
async def get_consents(principal: LivePerson, ctx: Ctx) -> dict[str, Any]:
    return consents_out(await consents.ledger_of(ctx, principal))


@router.post("/me/consents")
async def grant_consent(body: ConsentIn, principal: LivePerson, ctx: Ctx) -> JSONResponse:
    ledger, changed = await consents.change_consent(
        ctx, principal, body.organisation, body.purpose, grant=True
    )
    return JSONResponse(consents_out(ledger), status_code=201 if changed else 200)


@router.delete("/me/consents/{organisation}/{purpose}")
async def revoke_consent(
    organisation: str, purpose: ConsentPurpose, principal: LivePerson, ctx: Ctx
) -> dict[str, Any]:
    ledger, _ = await consents.change_consent(ctx, principal, organisation, purpose, grant=False)
    return consents_out(ledger)


@router.get("/me/access-log")
async def access_log(
    principal: LivePerson, ctx: Ctx, limit: LimitParam = 20, cursor: CursorParam = None
) -> dict[str, Any]:
    """Who accessed my data, newest first, from every service (NEN 7513): who (name and
    role, e.g. "J. de Vries, sociaal werker"), for which organisation, what and why, in
    words resolved now from identity's own data (`who`, `what`, `why`; `*_en` in English)."""
    lines, next_cursor = await own_log(ctx, principal, limit=limit, cursor=cursor)
    return {"items": [access_line_out(line) for line in lines], "next_cursor": next_cursor}


# ---- export of everything ----------------------------------------------------------------------


def _own_archive_url(request: Request, export_id: str) -> str:
    return request.url_for("own_export_archive", export_id=export_id).path


@router.post("/me/exports", status_code=202)
async def request_export(request: Request, principal: LivePerson, ctx: Ctx) -> JSONResponse:
    """Start an export of all my data (every service's part, one archive). While an export
    is running, asking again returns that one (200)."""
    job, created = await exports.request_own(ctx, principal)
    body = export_out(job, ctx.now(), _own_archive_url(request, job.id))
    return JSONResponse(body, status_code=202 if created else 200)


@router.get("/me/exports")
async def list_exports(request: Request, principal: LivePerson, ctx: Ctx) -> dict[str, Any]:
    jobs = await exports.own_exports(ctx, principal)
    now = ctx.now()
    items = [export_out(j, now, _own_archive_url(request, j.id)) for j in jobs]
    return {"items": items, "next_cursor": None}


@router.get("/me/exports/{export_id}")
async def get_export(
    export_id: str, request: Request, principal: LivePerson, ctx: Ctx
) -> dict[str, Any]:
    job = await exports.own_export(ctx, principal, export_id)
    return export_out(job, ctx.now(), _own_archive_url(request, job.id))


@router.get(
    "/me/exports/{export_id}/archive",
    name="own_export_archive",
    response_class=Response,
    responses=ZIP_RESPONSE,
)
async def download_export(export_id: str, principal: LivePerson, ctx: Ctx) -> Response:
    """The archive (application/zip): a JSON file per service, the questionnaires' FHIR
    bundle, and `samenvatting.html`. 409 while it is made, 410 once it expired."""
    job = await exports.own_export(ctx, principal, export_id)
    return zip_download(await exports.archive_of(ctx, principal.tenant, job), job)


@router.get("/me/erasure")
async def erasure_status(principal: LivePerson, ctx: Ctx) -> dict[str, Any]:
    """Progress of my erasure; readable until it completes (then the account is gone)."""
    status = await erasure.own_status(ctx, principal)
    return erasure_out(status, str(principal.person_id))


@router.post("/me/erasure", status_code=202)
async def request_erasure(principal: LivePerson, ctx: Ctx) -> dict[str, Any]:
    at = await erasure.request_erasure(ctx, principal)
    return {"status": "erasure_pending", "erasure_requested_at": at.isoformat()}
