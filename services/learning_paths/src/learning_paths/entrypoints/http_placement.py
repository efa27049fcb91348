"""The tenant's placement rules (instrument family, theme, phase range or score band →
path entry point)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from wijkkracht_common.auth import CurrentPrincipal, require_person

from learning_paths.domain.placement import PlacementRule
from learning_paths.entrypoints.deps import Ctx
from learning_paths.entrypoints.views import rule_view
from learning_paths.service import placement

# Everything here is a person's own learning or staff work: machine tokens get 403.
router = APIRouter(tags=["placement"], dependencies=[Depends(require_person)])


class RulesIn(BaseModel):
    rules: list[PlacementRule] = Field(max_length=500)


@router.get("/placement-rules")
async def read_rules(principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    return {"rules": [rule_view(r) for r in await placement.read_rules(ctx, principal)]}


@router.put("/placement-rules")
async def replace_rules(body: RulesIn, principal: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
    made = await placement.replace_rules(ctx, principal, body.rules)
    return {"rules": [rule_view(r) for r in made]}
