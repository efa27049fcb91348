"""Instruments: list, read (our JSON or FHIR Questionnaire), import, publish, retire.

Published instruments are reference data: a machine client of the tenant may read them
(`MachinePrincipal`). Import, publish and retire are an organisation admin's work
(`PersonPrincipal`). The import's body limit is its own: its router is included with
`max_body_size=settings.max_import_body` (main.py).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from wijkkracht_common.auth import MachinePrincipal, PersonPrincipal
from wijkkracht_common.events.questionnaires import InstrumentPurpose
from wijkkracht_common.pagination import CursorParam, LimitParam

from questionnaires.domain.fhir_questionnaire import definition_to_fhir
from questionnaires.entrypoints.deps import Ctx
from questionnaires.service import instruments

router = APIRouter(prefix="/instruments", tags=["instruments"])
#: The import only: included with its own body limit.
import_router = APIRouter(prefix="/instruments", tags=["instruments"])


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(max_length=31, description="the importing organisation")
    format: Literal["json", "fhir"] = "json"
    purpose: InstrumentPurpose | None = Field(
        default=None, description="default: derived from the family (see README)"
    )
    definition: dict[str, Any] = Field(description="our JSON format or a FHIR Questionnaire")


@router.get("")
async def list_instruments(
    principal: MachinePrincipal,
    ctx: Ctx,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    status: Literal["draft", "published", "retired"] | None = None,
) -> dict[str, Any]:
    """Shipped and organisation instruments of the caller's tenant; drafts only for the
    owning organisation's admins."""
    items, next_cursor = await instruments.page(
        ctx, principal, status=status, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{instrument_id}")
async def get_instrument(
    instrument_id: str,
    principal: MachinePrincipal,
    ctx: Ctx,
    version: int | None = Query(default=None, ge=1),
    format: Literal["json", "fhir"] = "json",
) -> dict[str, Any]:
    """The latest published version, or `version`; `format=fhir` gives a FHIR R4
    Questionnaire."""
    instrument = await instruments.load(ctx, principal.tenant, instrument_id, version, principal)
    if format == "fhir":
        return definition_to_fhir(instrument.definition)
    return {
        **instruments.summary(instrument),
        "definition": instrument.definition.model_dump(mode="json"),
    }


@import_router.post("/import", status_code=201)
async def import_instrument(
    body: ImportRequest, request: Request, principal: PersonPrincipal, ctx: Ctx
) -> JSONResponse:
    """Import as a draft (org_admin). Any problem: 422 with every error and its path, and
    nothing is stored."""

    async def produce() -> tuple[int, Any]:
        return 201, await instruments.import_instrument(
            ctx,
            principal,
            organisation=body.organisation,
            fmt=body.format,
            payload=body.definition,
            purpose=body.purpose,
        )

    return await ctx.uow.idempotent(
        principal.tenant,
        key=request.headers.get("idempotency-key"),
        scope=f"{principal.subject}:import",
        body=body.model_dump(),
        produce=produce,
    )


@router.post("/{instrument_id}/versions/{version}/publish")
async def publish(
    instrument_id: str, version: int, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return await instruments.change_status(ctx, principal, instrument_id, version, "publish")


@router.post("/{instrument_id}/versions/{version}/retire")
async def retire(
    instrument_id: str, version: int, principal: PersonPrincipal, ctx: Ctx
) -> dict[str, Any]:
    return await instruments.change_status(ctx, principal, instrument_id, version, "retire")
