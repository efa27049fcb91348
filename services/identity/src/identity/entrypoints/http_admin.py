"""Administration API: tenants, organisations, teams, people, memberships, API clients,
neighbourhood table. Tenant from the verified token only; other tenants' ids are 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from wijkkracht_common.errors import InvalidInput, field_error
from wijkkracht_common.idempotency import idempotency_key, idempotent
from wijkkracht_common.pagination import CursorParam, LimitParam

from identity.domain.consent import ConsentPurpose
from identity.entrypoints.deps import (
    Ctx,
    LiveCaller,
    LivePerson,
    Manager,
    PlatformOperator,
    TenantAdmin,
)
from identity.entrypoints.downloads import ZIP_RESPONSE, zip_download
from identity.entrypoints.schemas import (
    ClientIn,
    ClientPatch,
    ConsentIn,
    ExportRequestIn,
    OrganisationIn,
    PersonIn,
    RolesIn,
    TeamIn,
    TenantIn,
    caseload_out,
    client_out,
    consents_out,
    erasure_out,
    export_out,
    memberships_out,
    organisation_out,
    person_out,
)
from identity.service import (
    caseload,
    clients,
    consents,
    directory,
    erasure,
    exports,
    neighbourhoods,
    people,
)
from identity.service.problems import domain_call

router = APIRouter(tags=["administration"])

LIMIT_DEFAULT = 20


# ---- tenants (platform operators) --------------------------------------------------------------


@router.post("/tenants", status_code=201)
async def create_tenant(
    body: TenantIn, request: Request, principal: PlatformOperator, ctx: Ctx
) -> JSONResponse:
    async def produce() -> tuple[int, Any]:
        tenant = await domain_call(
            lambda: directory.register_tenant(
                ctx,
                slug=body.slug,
                name=body.name,
                actor=principal.subject,
                k_anonymity=body.k_anonymity,
            )
        )
        return 201, {
            "slug": tenant.slug,
            "name": tenant.name,
            "created_at": tenant.created_at.isoformat(),
        }

    return await idempotent(
        await ctx.platform_db(),
        key=idempotency_key(request),
        scope=f"{principal.subject}:tenants",
        body=body.model_dump(),
        produce=produce,
    )


@router.get("/tenants")
async def list_tenants(
    principal: PlatformOperator,
    ctx: Ctx,
    limit: LimitParam = LIMIT_DEFAULT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    tenants, next_cursor = await directory.list_tenants(ctx, limit=limit, cursor=cursor)
    return {
        "items": [{"slug": t.slug, "name": t.name} for t in tenants],
        "next_cursor": next_cursor,
    }


# ---- organisations and teams ---------------------------------------------------------------------


@router.post("/organisations", status_code=201)
async def create_organisation(
    body: OrganisationIn, request: Request, principal: TenantAdmin, ctx: Ctx
) -> JSONResponse:
    async def produce() -> tuple[int, Any]:
        org = await domain_call(
            lambda: directory.create_organisation(
                ctx,
                principal.tenant,
                slug=body.slug,
                name=body.name,
                kind=body.kind,
                actor=principal.subject,
            )
        )
        return 201, organisation_out(org)

    return await idempotent(
        await ctx.tenant_db(principal.tenant),
        key=idempotency_key(request),
        scope=f"{principal.subject}:organisations",
        body=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/organisations")
async def list_organisations(
    principal: LiveCaller,
    ctx: Ctx,
    limit: LimitParam = LIMIT_DEFAULT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    orgs, next_cursor = await directory.list_organisations(
        ctx, principal, limit=limit, cursor=cursor
    )
    return {"items": [organisation_out(o) for o in orgs], "next_cursor": next_cursor}


@router.get("/organisations/{slug}")
async def get_organisation(slug: str, principal: LiveCaller, ctx: Ctx) -> dict[str, Any]:
    return organisation_out(await directory.get_organisation(ctx, principal, slug))


@router.post("/organisations/{slug}/teams", status_code=201)
async def create_team(slug: str, body: TeamIn, principal: Manager, ctx: Ctx) -> dict[str, Any]:
    team = await domain_call(
        lambda: directory.create_team(
            ctx, principal, organisation=slug, slug=body.slug, name=body.name
        )
    )
    return {"organisation": team.organisation, "slug": team.slug, "name": team.name}


@router.get("/organisations/{slug}/teams")
async def list_teams(
    slug: str,
    principal: LiveCaller,
    ctx: Ctx,
    limit: LimitParam = LIMIT_DEFAULT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    teams, next_cursor = await directory.list_teams(
        ctx, principal, slug, limit=limit, cursor=cursor
    )
    return {
        "items": [{"organisation": slug, "slug": t.slug, "name": t.name} for t in teams],
        "next_cursor": next_cursor,
    }


@router.get("/organisations/{slug}/caseload")
async def get_caseload(
    slug: str,
    principal: LivePerson,
    ctx: Ctx,
    purpose: ConsentPurpose | None = None,
    limit: LimitParam = LIMIT_DEFAULT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Residents who currently consent to the organisation (any purpose, or `purpose`), by
    id: `id`, `display_name`, `neighbourhood_code`, `purposes` (all granted to it now),
    `since` (when `purpose`, else the earliest grant in force, was given). For its
    professionals, org admins and brokers (anyone else 404); every resident listed is
    access-logged."""
    entries, next_cursor = await caseload.caseload(
        ctx, principal, slug, purpose, limit=limit, cursor=cursor
    )
    return {"items": [caseload_out(e) for e in entries], "next_cursor": next_cursor}


# ---- people and memberships --------------------------------------------------------------------


@router.post("/people", status_code=201)
async def create_person(
    body: PersonIn, request: Request, principal: Manager, ctx: Ctx
) -> JSONResponse:
    """A staff account (or a resident entered by staff) with e-mail and password."""
    await people.check_new_memberships(
        ctx, principal, [(m.organisation, m.roles) for m in body.memberships]
    )

    async def produce() -> tuple[int, Any]:
        person, _ = await domain_call(
            lambda: people.register_person(
                ctx,
                principal.tenant,
                people.NewPerson(
                    display_name=body.display_name, email=body.email, password=body.password
                ),
                memberships=[(m.organisation, m.roles) for m in body.memberships],
                actor=principal.subject,
            )
        )
        return 201, person_out(person, await people.memberships_of(ctx, person))

    payload = body.model_dump(mode="json") | {"password": "***"}
    return await idempotent(
        await ctx.tenant_db(principal.tenant),
        key=idempotency_key(request),
        scope=f"{principal.subject}:people",
        body=payload,
        produce=produce,
    )


@router.get("/people")
async def list_people(
    principal: Manager,
    ctx: Ctx,
    organisation: str | None = None,
    limit: LimitParam = LIMIT_DEFAULT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Tenant admins list everyone (or one organisation); org admins one of their orgs.
    Each listed person is an access to personal data and is logged."""
    listed, next_cursor = await people.list_people(
        ctx, principal, organisation, limit=limit, cursor=cursor
    )
    items = [
        {
            "id": person.id,
            "display_name": person.display_name,
            "status": person.status.value,
            "memberships": memberships_out(memberships),
        }
        for person, memberships in listed
    ]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/people/{person_id}")
async def get_person(person_id: str, principal: Manager, ctx: Ctx) -> dict[str, Any]:
    person, memberships = await people.read_person_logged(ctx, principal, person_id)
    return person_out(person, memberships)


@router.get("/people/{person_id}/erasure")
async def get_erasure(person_id: str, principal: TenantAdmin, ctx: Ctx) -> dict[str, Any]:
    """Erasure status of a person in the tenant (also after completion: the record that
    every service confirmed, with counts). The read is access-logged."""
    return erasure_out(await erasure.status_for_admin(ctx, principal, person_id), person_id)


def _admin_archive_url(request: Request, person_id: str, export_id: str) -> str:
    return request.url_for("admin_export_archive", person_id=person_id, export_id=export_id).path


@router.post("/people/{person_id}/exports", status_code=202)
async def request_export_for(
    person_id: str, body: ExportRequestIn, request: Request, principal: TenantAdmin, ctx: Ctx
) -> JSONResponse:
    """Export everything of a resident of this tenant on their written request; `reason`
    (which request) is required and kept with the export. Access-logged. A running export
    of the person is returned instead of a second one (200)."""
    job, created = await exports.request_for_person(ctx, principal, person_id, body.reason)
    out = export_out(job, ctx.now(), _admin_archive_url(request, person_id, job.id))
    return JSONResponse(out, status_code=202 if created else 200)


@router.get("/people/{person_id}/exports/{export_id}")
async def get_export_for(
    person_id: str, export_id: str, request: Request, principal: TenantAdmin, ctx: Ctx
) -> dict[str, Any]:
    job = await exports.export_for_admin(ctx, principal, person_id, export_id)
    return export_out(job, ctx.now(), _admin_archive_url(request, person_id, job.id))


@router.get(
    "/people/{person_id}/exports/{export_id}/archive",
    name="admin_export_archive",
    response_class=Response,
    responses=ZIP_RESPONSE,
)
async def download_export_for(
    person_id: str, export_id: str, principal: TenantAdmin, ctx: Ctx
) -> Response:
    """The archive, to hand to the resident (application/zip); the download is logged."""
    job, data = await exports.download_for_admin(ctx, principal, person_id, export_id)
    return zip_download(data, job)


@router.put("/people/{person_id}/memberships/{organisation}")
async def put_membership(
    person_id: str, organisation: str, body: RolesIn, principal: Manager, ctx: Ctx
) -> dict[str, Any]:
    membership = await domain_call(
        lambda: people.set_membership(
            ctx, principal, person_id, organisation, body.roles, body.team
        )
    )
    if membership is None:
        return {"person_id": person_id, "organisation": organisation, "roles": []}
    return {"person_id": person_id, **memberships_out([membership])[0]}


@router.post("/people/{person_id}/consents")
async def record_consent(
    person_id: str, body: ConsentIn, principal: LivePerson, ctx: Ctx
) -> JSONResponse:
    """A staff member (professional, org admin or broker of the organisation) records a
    resident's consent for that organisation at the resident's request, e.g. a resident who
    is not online. 201 when recorded, 200 when it was in force; the answer shows only that
    organisation's consents. Access-logged; the history names the staff member (`by`)."""
    ledger, changed = await consents.change_for_resident(
        ctx, principal, person_id, body.organisation, body.purpose, grant=True
    )
    return JSONResponse(
        consents_out(ledger, body.organisation), status_code=201 if changed else 200
    )


@router.delete("/people/{person_id}/consents/{organisation}/{purpose}")
async def withdraw_consent(
    person_id: str, organisation: str, purpose: ConsentPurpose, principal: LivePerson, ctx: Ctx
) -> dict[str, Any]:
    """The same for a revocation at the resident's request."""
    ledger, _ = await consents.change_for_resident(
        ctx, principal, person_id, organisation, purpose, grant=False
    )
    return consents_out(ledger, organisation)


# ---- API clients ---------------------------------------------------------------------------------


@router.post("/organisations/{slug}/clients", status_code=201)
async def create_client(
    slug: str, body: ClientIn, request: Request, principal: Manager, ctx: Ctx
) -> JSONResponse:
    await clients.check_manager_of(ctx, principal, slug)

    async def produce() -> tuple[int, Any]:
        client, secret = await domain_call(
            lambda: clients.create_client(
                ctx,
                principal.tenant,
                organisation=slug,
                name=body.name,
                confidential=body.client_type == "confidential",
                scopes=body.scopes,
                redirect_uris=body.redirect_uris,
                allowed_origins=body.allowed_origins,
                post_logout_redirect_uris=body.post_logout_redirect_uris,
                id_token_signed_response_alg=body.id_token_signed_response_alg,
            )
        )
        return 201, client_out(client, secret)

    return await idempotent(
        await ctx.tenant_db(principal.tenant),
        key=idempotency_key(request),
        scope=f"{principal.subject}:clients:{slug}",
        body=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/organisations/{slug}/clients")
async def list_clients(
    slug: str,
    principal: Manager,
    ctx: Ctx,
    limit: LimitParam = LIMIT_DEFAULT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    found, next_cursor = await clients.list_clients(
        ctx, principal, slug, limit=limit, cursor=cursor
    )
    return {"items": [client_out(x) for x in found], "next_cursor": next_cursor}


@router.get("/organisations/{slug}/clients/{client_id}")
async def get_client(slug: str, client_id: str, principal: Manager, ctx: Ctx) -> dict[str, Any]:
    return client_out(await clients.managed_client(ctx, principal, slug, client_id))


@router.patch("/organisations/{slug}/clients/{client_id}")
async def patch_client(
    slug: str, client_id: str, body: ClientPatch, principal: Manager, ctx: Ctx
) -> dict[str, Any]:
    """Disable/enable, rename, replace redirect URIs or origins. A disabled client gets
    `invalid_client` from the token endpoint at once on this replica and within
    `WK_CLIENT_CACHE_SECONDS` on the others."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    client = await domain_call(
        lambda: clients.update_client(ctx, principal, slug, client_id, changes=changes)
    )
    return client_out(client)


@router.post("/organisations/{slug}/clients/{client_id}/secret")
async def rotate_client_secret(
    slug: str, client_id: str, principal: Manager, ctx: Ctx
) -> JSONResponse:
    """A new secret for a confidential client, returned once; the old one stops working."""
    client, secret = await clients.rotate_secret(ctx, principal, slug, client_id)
    return JSONResponse(client_out(client, secret), headers={"Cache-Control": "no-store"})


# ---- neighbourhoods ------------------------------------------------------------------------------


#: The neighbourhood CSV may be larger than other bodies (a region's postcodes).
NEIGHBOURHOODS_MAX_BYTES = 2_000_000


@router.put("/neighbourhoods", max_body_size=NEIGHBOURHOODS_MAX_BYTES)
async def import_neighbourhoods(
    request: Request, principal: TenantAdmin, ctx: Ctx
) -> dict[str, Any]:
    """Body: the CSV (`text/csv`, UTF-8) with header `code,name,lat,lon,postcodes`, at most
    2 MB (a larger one gets 413 while it streams in, before it is read whole)."""
    raw = await request.body()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            "Het bestand is geen UTF-8. / The file is not UTF-8.",
            errors=[field_error("body", "not UTF-8")],
        ) from None
    table = await neighbourhoods.import_neighbourhoods(
        ctx, principal.tenant, content, actor=principal.subject
    )
    return {
        "count": len(table.neighbourhoods),
        "items": [n.model_dump(mode="json") for n in table.neighbourhoods],
    }


@router.get("/neighbourhoods")
async def list_neighbourhoods(principal: LiveCaller, ctx: Ctx) -> dict[str, Any]:
    table = await neighbourhoods.table_of(ctx, principal)
    return {"items": [n.model_dump(mode="json") for n in table.neighbourhoods], "next_cursor": None}
