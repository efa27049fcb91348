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
from social_map.adapters.repositories import Repository
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


async def _existing_hood(reader: Repository, code: str) -> Neighbourhood:
    hood = await reader.neighbourhood(code)
    if hood is None:
        raise NotFound(HOOD_NOT_FOUND)
    return hood


async def feed_url(ctx: ServiceContext, principal: Principal, code: str) -> dict[str, Any]:
    tenant, now = principal.tenant, ctx.now()
    reader = await ctx.reader(tenant)
    await _existing_hood(reader, code)
    expires = now + timedelta(days=ctx.settings.feed_link_days)
    claim = feed_token.FeedClaim(
        tenant, code, await reader.feed_generation(code), int(expires.timestamp())
    )
    token = feed_token.issue(feed_secret(ctx, tenant), claim)
    return {
        "url": ctx.public_url(f"feeds/{quote(token)}/activities.ics"),
        "expires_at": expires.isoformat(),
        "neighbourhood_code": code,
    }


async def revoke(ctx: ServiceContext, principal: Principal, code: str) -> int:
    """Every feed URL of the neighbourhood issued so far stops working; the new generation."""
    permissions.require_curator(principal)
    await _existing_hood(await ctx.reader(principal.tenant), code)

    async def work(db: repo.Db, session: Session) -> tuple[int, list[Any]]:
        return await ctx.repo(db, session).next_feed_generation(code), []

    return await ctx.commit(principal.tenant, work)


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
    reader = await ctx.reader(claim.tenant)
    hood = await reader.neighbourhood(claim.neighbourhood)
    if hood is None or await reader.feed_generation(claim.neighbourhood) != claim.generation:
        raise NotFound(INVALID)
    stored = await reader.entries_in_pc4s(hood.pc4)
    return claim.tenant, hood, [s.entry for s in stored]
