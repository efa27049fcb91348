"""Administration API: tenants, organisations, teams, people, memberships, API clients,
neighbourhood table. Tenant from the verified token only; other tenants' ids are 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from wijkkracht_common.errors import Forbidden, InvalidInput, NotFound, field_error
from wijkkracht_common.idempotency import idempotency_key, idempotent
from wijkkracht_common.pagination import CursorParam, LimitParam, paginate

from identity.adapters import repositories as repo
from identity.adapters import schema as c
from identity.adapters.documents import from_doc
from identity.domain.api_clients import ApiClient
from identity.domain.roles import Role
from identity.domain.tenancy import Organisation
from identity.entrypoints.deps import Ctx, LivePrincipal, Manager, PlatformOperator, TenantAdmin
from identity.entrypoints.schemas import (
    ClientIn,
    ClientPatch,
    OrganisationIn,
    PersonIn,
    RolesIn,
    TeamIn,
    TenantIn,
    client_out,
    erasure_out,
    memberships_out,
    organisation_out,
    person_out,
)
from identity.service import clients, directory, erasure, neighbourhoods, people
from identity.service.context import NOT_FOUND
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
    docs, next_cursor = await paginate(
        (await ctx.platform_db())[c.TENANTS], {}, limit=limit, cursor=cursor
    )
    return {
        "items": [{"slug": d["_id"], "name": d["name"]} for d in docs],
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
    principal: LivePrincipal,
    ctx: Ctx,
    limit: LimitParam = LIMIT_DEFAULT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    db = await ctx.tenant_db(principal.tenant)
    docs, next_cursor = await paginate(db[c.ORGANISATIONS], {}, limit=limit, cursor=cursor)
    orgs = [from_doc(Organisation, d, "slug") for d in docs]
    return {"items": [organisation_out(o) for o in orgs if o], "next_cursor": next_cursor}


@router.get("/organisations/{slug}")
async def get_organisation(slug: str, principal: LivePrincipal, ctx: Ctx) -> dict[str, Any]:
    org = await repo.get_organisation(await ctx.tenant_db(principal.tenant), slug)
    if org is None:
        raise NotFound(NOT_FOUND)
    return organisation_out(org)


@router.post("/organisations/{slug}/teams", status_code=201)
async def create_team(slug: str, body: TeamIn, principal: Manager, ctx: Ctx) -> dict[str, Any]:
    await _visible_org(ctx, principal, slug)
    clients.require_manager(principal, slug)
    team = await domain_call(
        lambda: directory.create_team(
            ctx, principal, organisation=slug, slug=body.slug, name=body.name
        )
    )
    return {"organisation": team.organisation, "slug": team.slug, "name": team.name}


@router.get("/organisations/{slug}/teams")
async def list_teams(
    slug: str,
    principal: LivePrincipal,
    ctx: Ctx,
    limit: LimitParam = LIMIT_DEFAULT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    db = await _visible_org(ctx, principal, slug)
    docs, next_cursor = await paginate(
        db[c.TEAMS], {"organisation": slug}, limit=limit, cursor=cursor
    )
    return {
        "items": [{"organisation": slug, "slug": d["slug"], "name": d["name"]} for d in docs],
        "next_cursor": next_cursor,
    }


async def _visible_org(ctx: Ctx, principal: Any, slug: str) -> Any:
    db = await ctx.tenant_db(principal.tenant)
    await directory.require_organisation(db, slug)
    return db


# ---- people and memberships --------------------------------------------------------------------


@router.post("/people", status_code=201)
async def create_person(
    body: PersonIn, request: Request, principal: Manager, ctx: Ctx
) -> JSONResponse:
    """A staff account (or a resident entered by staff) with e-mail and password."""
    await _check_new_memberships(
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
        db = await ctx.tenant_db(principal.tenant)
        return 201, person_out(person, await repo.memberships_of(db, person.id))

    payload = body.model_dump(mode="json") | {"password": "***"}
    return await idempotent(
        await ctx.tenant_db(principal.tenant),
        key=idempotency_key(request),
        scope=f"{principal.subject}:people",
        body=payload,
        produce=produce,
    )


async def _check_new_memberships(ctx: Ctx, principal: Any, grants: list[Any]) -> None:
    db = await ctx.tenant_db(principal.tenant)
    for org, roles in grants:
        await directory.require_organisation(db, org)
        if not people.may_manage(principal, org):
            raise Forbidden(
                "U mag deze organisatie niet beheren. / You may not manage this organisation."
            )
        if not people.may_grant(principal, roles):
            raise Forbidden("U mag deze rol niet toekennen. / You may not grant this role.")


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
    db = await ctx.tenant_db(principal.tenant)
    if organisation is None:
        if not principal.has_role(Role.TENANT_ADMIN):
            raise InvalidInput(
                "Kies een organisatie. / Choose an organisation.",
                errors=[field_error("query.organisation", "required")],
            )
        docs, next_cursor = await paginate(db[c.PEOPLE], {}, limit=limit, cursor=cursor)
        ids = [str(d["_id"]) for d in docs]
    else:
        await directory.require_organisation(db, organisation)
        clients.require_manager(principal, organisation)
        docs, next_cursor = await paginate(
            db[c.MEMBERSHIPS], {"organisation": organisation}, limit=limit, cursor=cursor
        )
        ids = [str(d["person_id"]) for d in docs]
    items = []
    for person_id in ids:
        person = await repo.get_person(db, person_id)
        if person is None:
            continue
        if principal.person_id != person_id:
            from wijkkracht_common.access_log import record_access

            await record_access(
                db,
                service="identity",
                principal=principal,
                resident=person_id,
                action="list",
                resource=f"person/{person_id}",
                reason="administration",
            )
        items.append(
            {
                "id": person.id,
                "display_name": person.display_name,
                "status": person.status.value,
                "memberships": memberships_out(await repo.memberships_of(db, person_id)),
            }
        )
    ctx.runtime.notify_relay()
    return {"items": items, "next_cursor": next_cursor}


@router.get("/people/{person_id}")
async def get_person(person_id: str, principal: Manager, ctx: Ctx) -> dict[str, Any]:
    person, memberships = await people.read_person_logged(ctx, principal, person_id)
    return person_out(person, memberships)


@router.get("/people/{person_id}/erasure")
async def get_erasure(person_id: str, principal: TenantAdmin, ctx: Ctx) -> dict[str, Any]:
    """Erasure status of a person in the tenant (also after completion: the record that
    every service confirmed, with counts). The read is access-logged."""
    status = await erasure.status_of(ctx, principal.tenant, person_id)
    from wijkkracht_common.access_log import record_access

    await record_access(
        await ctx.tenant_db(principal.tenant),
        service="identity",
        principal=principal,
        resident=person_id,
        action="read",
        resource=f"erasure/{person_id}",
        reason="erasure_administration",
    )
    ctx.runtime.notify_relay()
    return erasure_out(status)


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


# ---- API clients ---------------------------------------------------------------------------------


@router.post("/organisations/{slug}/clients", status_code=201)
async def create_client(
    slug: str, body: ClientIn, request: Request, principal: Manager, ctx: Ctx
) -> JSONResponse:
    await _visible_org(ctx, principal, slug)
    clients.require_manager(principal, slug)

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
    db = await _visible_org(ctx, principal, slug)
    clients.require_manager(principal, slug)
    docs, next_cursor = await paginate(
        db[c.CLIENTS], {"organisation": slug}, limit=limit, cursor=cursor
    )
    found = [from_doc(ApiClient, d, "client_id") for d in docs]
    return {"items": [client_out(x) for x in found if x], "next_cursor": next_cursor}


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


@router.put("/neighbourhoods")
async def import_neighbourhoods(
    request: Request, principal: TenantAdmin, ctx: Ctx
) -> dict[str, Any]:
    """Body: the CSV (`text/csv`, UTF-8) with header `code,name,lat,lon,postcodes`."""
    raw = await request.body()
    if len(raw) > 2_000_000:
        raise InvalidInput(
            "Bestand te groot (max 2 MB). / File too large (max 2 MB).",
            errors=[field_error("body", "max 2 MB")],
            status=413,
        )
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
async def list_neighbourhoods(principal: LivePrincipal, ctx: Ctx) -> dict[str, Any]:
    table = await repo.get_neighbourhoods(await ctx.tenant_db(principal.tenant))
    return {"items": [n.model_dump(mode="json") for n in table.neighbourhoods], "next_cursor": None}
