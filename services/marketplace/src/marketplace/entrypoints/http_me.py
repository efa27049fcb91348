"""HTTP: the caller's own volunteer opt-in and notifications; the tenant's categories;
demand and supply figures for admins and analysts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from wijkkracht_common.auth import PersonPrincipal, Principal, require_roles
from wijkkracht_common.pagination import CursorParam, LimitParam

from marketplace.domain.balance import GroupBy
from marketplace.entrypoints.deps import Ctx
from marketplace.entrypoints.schemas import (
    ForPerson,
    VolunteerIn,
    notification_out,
    volunteer_out,
)
from marketplace.service import balance, notifications, volunteers
from marketplace.service.acting import ANALYST_ROLES
from marketplace.service.posts import categories_of
from marketplace.service.volunteers import OptIn

router = APIRouter(tags=["me"])


@router.put("/me/volunteer")
async def opt_in(
    body: VolunteerIn, principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    """Be told about requests that fit: categories, days, distance, and how (at once by
    mail, a daily digest, or only in the platform)."""
    choice = OptIn(
        categories=body.categories,
        weekdays=body.weekdays,
        parts_of_day=body.parts_of_day,
        radius_km=body.radius_km,
        notify=body.notify,
        email=body.email,
    )
    return volunteer_out(await volunteers.opt_in(ctx, principal, choice, for_person=for_person))


@router.get("/me/volunteer")
async def my_volunteer_profile(
    principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None
) -> dict[str, Any]:
    return volunteer_out(await volunteers.read(ctx, principal, for_person=for_person))


@router.delete("/me/volunteer", status_code=204)
async def opt_out(principal: PersonPrincipal, ctx: Ctx, for_person: ForPerson = None) -> None:
    await volunteers.opt_out(ctx, principal, for_person=for_person)


@router.get("/me/notifications")
async def my_notifications(
    principal: PersonPrincipal,
    ctx: Ctx,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
    for_person: ForPerson = None,
) -> dict[str, Any]:
    items, next_cursor = await notifications.mine(
        ctx, principal, limit=limit, cursor=cursor, for_person=for_person
    )
    return {"items": [notification_out(n) for n in items], "next_cursor": next_cursor}


@router.get("/categories")
async def categories(principal: PersonPrincipal, ctx: Ctx) -> dict[str, Any]:
    """The categories posts may have: the social map's taxonomy as known here."""
    cats = await categories_of(ctx, principal.tenant)
    items = [
        {"code": c, "label_nl": cats.label(c, "nl"), "label_en": cats.label(c, "en")}
        for c in cats.codes
    ]
    return {"items": items, "next_cursor": None}


@router.get("/balance")
async def balance_figures(
    ctx: Ctx,
    principal: Principal = Depends(require_roles(*ANALYST_ROLES)),
    by: GroupBy = GroupBy.BOTH,
) -> dict[str, Any]:
    """Demand and supply per neighbourhood and category: ratio, median hours to the first
    response, match rate, completed help; rows below the tenant's k are suppressed."""
    k, rows = await balance.figures(ctx, principal, by)
    return {
        "k_anonymity": k,
        "rounding_base": ctx.settings.balance_rounding_base,
        "by": by.value,
        "items": [vars(row) for row in rows],
    }
