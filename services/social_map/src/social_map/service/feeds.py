"""Calendar-feed URLs per neighbourhood that calendar apps can subscribe to without a login.

Any signed-in user of the tenant obtains a URL (`POST /neighbourhoods/{code}/feed-link`); it
carries an HMAC-signed token (key per tenant, derived from `WK_VERIFICATION_SECRET` with its own
label) that binds tenant, neighbourhood, the neighbourhood's feed generation and an expiry
(`WK_FEED_LINK_DAYS`, default 365). A neighbourhood manager revokes every URL of a
neighbourhood at once (`DELETE …/feed-link`: generation + 1). Malformed, forged, expired and
revoked tokens all answer 404, so a token cannot be probed.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.storage import Session
from wijkkracht_common.tenancy import is_valid_slug

from social_map.adapters import repositories as repo
from social_map.domain import feed_token
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Entry
from social_map.service import permissions
from social_map.service.context import ServiceContext

INVALID = "Deze agenda-link is ongeldig of ingetrokken. / This calendar link is not valid."
HOOD_NOT_FOUND = "Wijk niet gevonden. / Neighbourhood not found."


def feed_secret(ctx: ServiceContext, tenant: str) -> bytes:
    master = ctx.settings.verification_secret.get_secret_value().encode()
    return hmac.new(master, f"calendar-feed:{tenant}".encode(), hashlib.sha256).digest()


def _gen_id(code: str) -> str:
    return f"feed:{code}"


async def _generation(db: repo.Db, code: str) -> int:
    doc = await db[repo.CONFIG].find_one({"_id": _gen_id(code)})
    return 0 if doc is None else int(doc["g"])


async def feed_url(ctx: ServiceContext, principal: Principal, code: str) -> dict[str, Any]:
    tenant, now = principal.tenant, ctx.now()
    db = await ctx.db(tenant)
    if await repo.neighbourhood(db, code) is None:
        raise NotFound(HOOD_NOT_FOUND)
    expires = now + timedelta(days=ctx.settings.feed_link_days)
    claim = feed_token.FeedClaim(
        tenant, code, await _generation(db, code), int(expires.timestamp())
    )
    token = feed_token.issue(feed_secret(ctx, tenant), claim)
    base = ctx.settings.public_base_url.rstrip("/")
    return {
        "url": f"{base}/feeds/{quote(token)}/activities.ics",
        "expires_at": expires.isoformat(),
        "neighbourhood_code": code,
    }


async def revoke(ctx: ServiceContext, principal: Principal, code: str) -> int:
    """Every feed URL of the neighbourhood issued so far stops working; the new generation."""
    permissions.require_curator(principal)
    db = await ctx.db(principal.tenant)
    if await repo.neighbourhood(db, code) is None:
        raise NotFound(HOOD_NOT_FOUND)

    async def work(db: repo.Db, session: Session) -> tuple[int, list[Any]]:
        gid = _gen_id(code)
        result = await db[repo.CONFIG].update_one({"_id": gid}, {"$inc": {"g": 1}}, session=session)
        if result.matched_count == 0:  # no upsert: nx-27017 ignores the filter's _id
            await db[repo.CONFIG].insert_one({"_id": gid, "g": 1}, session=session)
            return 1, []
        doc = await db[repo.CONFIG].find_one({"_id": gid}, session=session)
        return int(doc["g"]) if doc else 1, []

    return await ctx.runtime.commit(principal.tenant, work)


def _secret_for(ctx: ServiceContext) -> Any:
    def secret_for(tenant: str) -> bytes:
        # an invalid slug gets a key nobody has, so the signature check simply fails
        return feed_secret(ctx, tenant if is_valid_slug(tenant) else "-invalid-")

    return secret_for


async def feed_target(
    ctx: ServiceContext, token: str, now: datetime
) -> tuple[str, Neighbourhood, list[Entry]]:
    """(tenant, neighbourhood, its entries) for a valid token, else NotFound (404)."""
    try:
        claim = feed_token.verify(token, _secret_for(ctx), now)
    except feed_token.FeedTokenError:
        raise NotFound(INVALID) from None
    if not is_valid_slug(claim.tenant):
        raise NotFound(INVALID)
    db = await ctx.db(claim.tenant)
    hood = await repo.neighbourhood(db, claim.neighbourhood)
    if hood is None or await _generation(db, claim.neighbourhood) != claim.generation:
        raise NotFound(INVALID)
    stored = await repo.entries_by_pc4(db, hood.pc4)
    return claim.tenant, hood, [s.entry for s in stored]
