"""Demand and supply figures for organisation admins and analysts (aggregates only, with
the tenant's small-cell suppression; `domain.balance`)."""

from __future__ import annotations

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden

from marketplace.domain.balance import GroupBy, Row, Tally, table
from marketplace.domain.matches import MatchStatus
from marketplace.domain.posts import PostKind, PostStatus
from marketplace.service.acting import ANALYST_ROLES
from marketplace.service.context import Context
from marketplace.service.posts import categories_of

K_ANONYMITY = "k_anonymity"


async def figures(ctx: Context, principal: Principal, by: GroupBy) -> tuple[int, list[Row]]:
    """(k, rows)."""
    if not principal.has_role(*ANALYST_ROLES):
        raise Forbidden(
            "Alleen beheerders en analisten zien deze cijfers. / Only admins and analysts see "
            "these figures.",
            kind="not-an-analyst",
        )
    r = await ctx.reader(principal.tenant)
    k = int(await r.config(K_ANONYMITY) or ctx.settings.default_k_anonymity)
    cells: dict[tuple[str, str], Tally] = {}

    def cell(hood: str, category: str) -> Tally:
        return cells.setdefault((hood, category), Tally())

    facts = await r.post_facts()
    requests = {f.id: f for f in facts if f.kind is PostKind.REQUEST}
    for f in facts:
        t = cell(f.neighbourhood_code, f.category)
        if f.kind is PostKind.REQUEST:
            t.requests += 1
            t.open_requests += f.status is PostStatus.OPEN
            if f.first_response_at is not None:
                hours = (f.first_response_at - f.created_at).total_seconds() / 3600
                t.first_response_hours.append(hours)
        elif f.status is PostStatus.OPEN:
            t.supply += 1
    matched_requests: set[str] = set()
    for m in await r.all_matches():
        if m.status in (MatchStatus.ACCEPTED, MatchStatus.DONE) and m.post_id in requests:
            matched_requests.add(m.post_id)
        if m.status is MatchStatus.DONE:
            cell(m.neighbourhood_code, m.category).completed += 1
    for post_id in matched_requests:
        f = requests[post_id]
        cell(f.neighbourhood_code, f.category).matched += 1
    for hood, category in await _volunteer_supply(ctx, principal.tenant):
        cell(hood, category).supply += 1
    ref = await ctx.reference(principal.tenant)
    return k, table(
        cells,
        by,
        k,
        neighbourhoods=ref.table.codes,
        categories=ref.categories.codes,
        base=ctx.settings.balance_rounding_base,
    )


async def _volunteer_supply(ctx: Context, tenant: str) -> list[tuple[str, str]]:
    """(neighbourhood, category) per active volunteer and category they help with."""
    r = await ctx.reader(tenant)
    out: list[tuple[str, str]] = []
    codes = (await categories_of(ctx, tenant)).codes
    for helper in await r.helpers_for(codes):
        if helper.neighbourhood_code:
            out += [(helper.neighbourhood_code, c) for c in helper.categories if c in codes]
    return out
