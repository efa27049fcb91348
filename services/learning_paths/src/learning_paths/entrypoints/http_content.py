"""Content routes: the catalogue, authoring in Markdown (draft → published), preview, print,
packages. The same routes serve `/modules` and `/paths`."""

from __future__ import annotations

import hashlib
import json
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from wijkkracht_common.auth import CurrentPrincipal, require_person
from wijkkracht_common.errors import InvalidInput, field_error
from wijkkracht_common.idempotency import idempotency_key, idempotent
from wijkkracht_common.pagination import CursorParam, LimitParam

from learning_paths.domain import access
from learning_paths.domain.content import SLUG, ContentKind, Scope, Variant
from learning_paths.entrypoints.deps import Ctx
from learning_paths.entrypoints.views import content_view, step_view, version_view
from learning_paths.presentation.pages import page
from learning_paths.service import content as content_service
from learning_paths.service import packages, problems

# Everything here is a person's own learning or staff work: machine tokens get 403.
router = APIRouter(tags=["content"], dependencies=[Depends(require_person)])

MAX_SOURCE_BYTES = 4 * 1024 * 1024


class ContentIn(BaseModel):
    organisation: str = Field(min_length=2, max_length=31)
    slug: str = Field(pattern=SLUG.pattern)
    scope: Scope = "organisation"
    sources: dict[Variant, str] = Field(description="Markdown per variant; nl required")


class ScopeIn(BaseModel):
    scope: Scope


async def _source_of(request: Request) -> str:
    """A variant's Markdown: the raw body (text/markdown, text/plain) or {"source": ...}."""
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    try:
        if kind.startswith("application/json"):
            data = json.loads(raw)
            source = data.get("source") if isinstance(data, dict) else None
            if not isinstance(source, str):
                raise ValueError("source missing")
            return source
        return raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            'Stuur de Markdown als tekst of als {"source": ...}. / Send the Markdown as text '
            'or as {"source": ...}.',
            errors=[field_error("source", "Markdown text required")],
        ) from None


def _register(collection: str, kind: ContentKind) -> None:
    tag: list[str | Enum] = [collection]

    @router.get(f"/{collection}", tags=tag, name=f"list_{collection}")
    async def listing(
        principal: CurrentPrincipal,
        ctx: Ctx,
        theme: Annotated[str | None, Query(max_length=61)] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> dict[str, Any]:
        items, next_cursor = await content_service.catalogue(
            ctx, principal, kind, theme=theme, limit=limit, cursor=cursor
        )
        return {"items": [content_view(c) for c in items], "next_cursor": next_cursor}

    @router.post(
        f"/{collection}",
        status_code=201,
        tags=tag,
        name=f"create_{collection}",
        max_body_size=MAX_SOURCE_BYTES * 3,
    )
    async def create(
        body: ContentIn, principal: CurrentPrincipal, ctx: Ctx, request: Request
    ) -> JSONResponse:
        async def produce() -> tuple[int, Any]:
            made = await content_service.create(
                ctx,
                principal,
                kind=kind,
                organisation=body.organisation,
                slug=body.slug,
                scope=body.scope,
                sources=body.sources,
            )
            return 201, {
                **content_view(made.content),
                "draft": version_view(made.version, "nl", editor=True),
            }

        db = await ctx.runtime.storage.tenant_db(principal.tenant)
        return await idempotent(
            db,
            key=idempotency_key(request),
            scope=f"{principal.subject}:{collection}",
            body=body.model_dump(),
            produce=produce,
        )

    @router.get(f"/{collection}/{{content_id}}", tags=tag, name=f"read_{collection}")
    async def read(
        content_id: str,
        principal: CurrentPrincipal,
        ctx: Ctx,
        variant: Variant | None = None,
        version: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        found, shown = await content_service.read_version(ctx, principal, content_id, version, kind)
        editor = access.may_edit(principal, found)
        return {**content_view(found), "version": version_view(shown, variant, editor=editor)}

    @router.patch(f"/{collection}/{{content_id}}", tags=tag, name=f"scope_{collection}")
    async def change_scope(
        content_id: str, body: ScopeIn, principal: CurrentPrincipal, ctx: Ctx
    ) -> dict[str, Any]:
        await content_service.read(ctx, principal, content_id, kind)
        return content_view(
            await content_service.change_scope(ctx, principal, content_id, body.scope)
        )

    @router.put(
        f"/{collection}/{{content_id}}/draft/variants/{{variant}}",
        tags=tag,
        name=f"write_variant_{collection}",
        max_body_size=MAX_SOURCE_BYTES,
        openapi_extra={
            "requestBody": {
                "content": {
                    "text/markdown": {"schema": {"type": "string"}},
                    "application/json": {
                        "schema": {"type": "object", "properties": {"source": {"type": "string"}}}
                    },
                }
            }
        },
    )
    async def write_variant(
        content_id: str, variant: Variant, principal: CurrentPrincipal, ctx: Ctx, request: Request
    ) -> dict[str, Any]:
        """Write one variant of the draft in Markdown (see README, "Writing a module")."""
        await content_service.read(ctx, principal, content_id, kind)
        source = await _source_of(request)
        made = await content_service.put_variant(ctx, principal, content_id, variant, source)
        return {
            **content_view(made.content),
            "draft": version_view(made.version, variant, editor=True),
        }

    @router.post(f"/{collection}/{{content_id}}/publish", tags=tag, name=f"publish_{collection}")
    async def publish(content_id: str, principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
        await content_service.read(ctx, principal, content_id, kind)
        made = await content_service.publish(ctx, principal, content_id)
        return {
            **content_view(made.content),
            "version": version_view(made.version, "nl", editor=True),
        }

    @router.get(
        f"/{collection}/{{content_id}}/preview",
        tags=tag,
        name=f"preview_{collection}",
        response_class=HTMLResponse,
    )
    async def preview(
        content_id: str,
        principal: CurrentPrincipal,
        ctx: Ctx,
        variant: Variant | None = None,
        version: Annotated[int | None, Query(ge=1)] = None,
    ) -> HTMLResponse:
        """Every step of a version as the resident (or the printer) will see it; editors
        preview their drafts."""
        _found, shown = await content_service.read_version(
            ctx, principal, content_id, version, kind
        )
        chosen = shown.variant(variant)
        return HTMLResponse(
            page(chosen, chosen.steps, preview=shown.status == "draft"),
        )

    @router.get(
        f"/{collection}/{{content_id}}/steps/{{step_id}}",
        tags=tag,
        name=f"step_{collection}",
    )
    async def read_step(
        content_id: str,
        step_id: str,
        principal: CurrentPrincipal,
        ctx: Ctx,
        variant: Variant | None = None,
    ) -> dict[str, Any]:
        _found, shown = await content_service.read_version(ctx, principal, content_id, None, kind)
        step = shown.variant(variant).step(step_id)
        if step is None:
            raise problems.not_found()
        return step_view(step)

    @router.get(
        f"/{collection}/{{content_id}}/steps/{{step_id}}/print",
        tags=tag,
        name=f"print_{collection}",
        response_class=HTMLResponse,
    )
    async def print_step(
        content_id: str,
        step_id: str,
        principal: CurrentPrincipal,
        ctx: Ctx,
        variant: Variant | None = None,
    ) -> HTMLResponse:
        """A blank printable step (a resident's own answers: the enrolment's print view)."""
        _found, shown = await content_service.read_version(ctx, principal, content_id, None, kind)
        chosen = shown.variant(variant)
        step = chosen.step(step_id)
        if step is None:
            raise problems.not_found()
        return HTMLResponse(page(chosen, [step]))


_register("modules", "module")
_register("paths", "path")


@router.get(
    "/modules/{content_id}/package",
    tags=["modules"],
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export_package(content_id: str, principal: CurrentPrincipal, ctx: Ctx) -> Response:
    """The module as a package: cmi5.xml (cmi5 CourseStructure) and its Markdown."""
    body = await packages.export(ctx, principal, content_id)
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{content_id}.zip"'},
    )


@router.post(
    "/modules/packages",
    tags=["modules"],
    status_code=201,
    max_body_size=packages.MAX_PACKAGE_BYTES,
    openapi_extra={"requestBody": {"content": {"application/zip": {"schema": {"type": "string"}}}}},
)
async def import_package(
    request: Request,
    principal: CurrentPrincipal,
    ctx: Ctx,
    organisation: Annotated[str, Query(min_length=2, max_length=31)],
    slug: Annotated[str, Query(pattern=SLUG.pattern)],
    scope: Scope = "organisation",
) -> JSONResponse:
    """Import a cmi5 package (zip: cmi5.xml, optionally content/<variant>.md) as a draft
    module; everything is checked first, nothing is stored when anything is wrong."""
    body = await request.body()

    async def produce() -> tuple[int, Any]:
        made = await packages.import_package(
            ctx, principal, organisation=organisation, slug=slug, scope=scope, package=body
        )
        return 201, {
            **content_view(made.content),
            "draft": version_view(made.version, "nl", editor=True),
        }

    db = await ctx.runtime.storage.tenant_db(principal.tenant)
    return await idempotent(
        db,
        key=idempotency_key(request),
        scope=f"{principal.subject}:packages",
        body={
            "organisation": organisation,
            "slug": slug,
            "scope": scope,
            "package": hashlib.sha256(body).hexdigest(),
        },
        produce=produce,
    )
