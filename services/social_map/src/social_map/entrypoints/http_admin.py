"""Tenant curation: taxonomy, freshness policy (and running its sweep now), HSDS import and
export. Reading the taxonomy and the policy is reference data (machine clients too); the rest
is a neighbourhood manager's work (a person). HSDS imports have their own router: its body
limit is the `import_max_bytes` setting (`main.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from wijkkracht_common.auth import MachinePrincipal, PersonPrincipal
from wijkkracht_common.errors import Problem

from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.sweeps import SweepReport
from social_map.domain.taxonomy import Category
from social_map.entrypoints.deps import Ctx, problem_responses
from social_map.service import config, freshness, interchange, permissions

router = APIRouter(tags=["curation"])
#: HSDS imports, included with `max_body_size=settings.import_max_bytes`.
imports_router = APIRouter(tags=["curation"])


class TaxonomyIn(BaseModel):
    categories: list[Category]


def _taxonomy_body(categories: list[Category], version: int) -> dict[str, Any]:
    return {"version": version, "categories": [c.model_dump(mode="json") for c in categories]}


@router.get("/taxonomy")
async def get_taxonomy(principal: MachinePrincipal, ctx: Ctx) -> dict[str, Any]:
    view = await ctx.view(principal.tenant)
    return _taxonomy_body(view.taxonomy.categories, view.taxonomy_version)


@router.put("/taxonomy")
async def put_taxonomy(body: TaxonomyIn, principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """Replace the category tree and its mapping to questionnaire dimensions."""
    taxonomy, version = await config.replace_taxonomy(ctx, principal, body.categories)
    return _taxonomy_body(taxonomy.categories, version)


@router.post("/taxonomy/announcements", status_code=202)
async def announce_taxonomy(principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """Publish the current tree again as `taxonomy_changed` (other services keep it as a
    projection; it is also published on every change and on a tenant's first import)."""
    await config.republish_taxonomy(ctx, principal)
    view = await ctx.view(principal.tenant)
    return {"version": view.taxonomy_version}


@router.get("/freshness-policy")
async def get_policy(principal: MachinePrincipal, ctx: Ctx) -> dict[str, Any]:
    return (await config.current_policy(ctx, principal)).model_dump()


@router.put("/freshness-policy")
async def put_policy(
    policy: FreshnessPolicy, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return (await config.replace_policy(ctx, principal, policy)).model_dump()


class SweepOut(BaseModel):
    """One run of the freshness sweep of the caller's tenant."""

    id: str
    started_at: datetime
    finished_at: datetime
    policy_version: int = Field(description="version of the freshness policy the run started with")
    checked: int = Field(description="entries whose freshness check was due")
    changed: int = Field(
        description="entries whose state changed (their events and owner mails are sent)"
    )


def _sweep_out(report: SweepReport) -> SweepOut:
    return SweepOut(
        id=report.id,
        started_at=report.started_at,
        finished_at=report.finished_at,
        policy_version=report.policy_version,
        checked=report.checked,
        changed=report.changed,
    )


@router.post(
    "/freshness/sweeps",
    status_code=201,
    response_model=SweepOut,
    responses=problem_responses(401, 403),
    summary="Run the freshness sweep of your tenant now",
)
async def run_freshness_sweep(response: Response, principal: PersonPrincipal, ctx: Ctx) -> SweepOut:
    """Neighbourhood manager: check the tenant's entries now instead of at the next hourly
    run. Every entry whose check is due gets its state under the current freshness policy;
    state changes are announced (events, one mail to the owner) exactly as by the timer, and
    a repeated run announces nothing twice. The run completes within the request; `Location`
    names its report. Only the caller's own tenant is swept."""
    report = await freshness.run_now(ctx, principal)
    response.headers["Location"] = ctx.public_url(f"freshness/sweeps/{quote(report.id)}")
    return _sweep_out(report)


@router.get(
    "/freshness/sweeps/{sweep_id}",
    name="get_freshness_sweep",
    response_model=SweepOut,
    responses=problem_responses(401, 403, 404),
    summary="The report of a freshness sweep run on request",
)
async def get_freshness_sweep(sweep_id: str, principal: PersonPrincipal, ctx: Ctx) -> SweepOut:
    """Neighbourhood manager of the sweep's tenant; any other tenant's sweep is 404."""
    return _sweep_out(await freshness.sweep_report(ctx, principal, sweep_id))


@imports_router.post("/imports", status_code=201)
async def import_hsds(
    request: Request,
    principal: PersonPrincipal,
    ctx: Ctx,
    strict: Annotated[
        bool, Query(description="refuse unusable coordinates instead of dropping them")
    ] = False,
) -> dict[str, Any]:
    """HSDS 3.0 import: `application/json` (a list of services, one service, or a paged
    `contents` response) or `application/zip` (the CSV tabular package). All or nothing: any
    error → 422 with the line-level report. Unusable coordinates (off the globe, not a
    number) are the exception: the location is kept without them and `warnings` lists each
    dropped value; `strict=true` refuses them like any other error. Larger than the
    platform's default body limit (`WK_IMPORT_MAX_BYTES`, 200 MiB): a bigger body is refused
    (413) while it arrives."""
    permissions.require_curator(principal)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "application/zip"):
        raise Problem(
            "Gebruik application/json of application/zip. / Use application/json "
            "or application/zip.",
            status=415,
            kind="unsupported-media-type",
        )
    raw = await request.body()
    view = await ctx.view(principal.tenant)
    result = interchange.parse_package(
        raw, "zip" if media.endswith("zip") else "json", principal.tenant, view, strict=strict
    )
    if result.data is None:
        raise interchange.report_problem(result)
    summary = await interchange.write_import(
        ctx, principal.tenant, result.data, actor=principal.subject
    )
    return interchange.import_report(summary, result)


@router.get("/exports/hsds")
async def export_hsds(
    principal: PersonPrincipal,
    ctx: Ctx,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    """The tenant's whole map as HSDS 3.0 (JSON services, or a zip of the CSV package)."""
    permissions.require_curator(principal)
    raw = await interchange.export(ctx, principal.tenant, format)
    if format == "json":
        return Response(raw, media_type="application/json")
    return Response(
        raw,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="hsds.zip"'},
    )
