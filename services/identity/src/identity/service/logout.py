"""RP-initiated logout: end the login the relying party names, and revoke what it issued.

`domain.logout` decides (which client, whether and where to redirect, whose login); this
module revokes the login's refresh-token family and the access tokens issued from it (or,
for a client without refresh tokens, the access token issued with the ID token), and
publishes `access_token_revoked` for each, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from wijkkracht_common.observability import get_logger
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.domain.logout import (
    EndedLogin,
    LogoutDecision,
    LogoutRequest,
    decide_logout,
    id_token_claims_of,
)
from identity.service.context import Db, Identity
from identity.service.oauth import load_client
from identity.service.revocations import tokens_revoked

log = get_logger(__name__)

LOGOUT_REASON = "logout"


async def logout(ctx: Identity, pairs: Iterable[tuple[str, str]]) -> LogoutDecision:
    """Raises `LogoutRejected` for a request that cannot be honoured (show our own page)."""
    request = LogoutRequest.from_pairs(pairs)
    now = ctx.now()
    claims = None
    if request.id_token_hint is not None:
        claims = id_token_claims_of(
            request.id_token_hint, await ctx.keys.jwks(), policy=ctx.policy, now=now
        )
    wanted = str(claims["aud"]) if claims is not None else request.client_id
    client = await load_client(ctx, wanted) if wanted else None
    decision = decide_logout(request, hint_claims=claims, client=client, policy=ctx.policy)
    if decision.ended is not None:
        await end_login(ctx, decision.ended, now)
    return decision


async def end_login(ctx: Identity, ended: EndedLogin, now: datetime) -> int:
    """Revoke the login's refresh tokens and the access tokens issued from them; returns
    how many access tokens were revoked."""
    if ended.sid is None:  # an ID token from before logins were named: nothing to find
        log.info("logout without sid: nothing revoked", client_id=ended.client_id)
        return 0
    sid = ended.sid

    async def work(db: Db, session: Session) -> tuple[int, list[Staged]]:
        grants = ctx.within(db, session).grants
        family = await grants.family_of(sid)
        if family is not None and (family.subject, family.client_id) != (
            ended.subject,
            ended.client_id,
        ):
            return 0, []  # not this person's login at this client
        if family is not None:
            revoked = await grants.revoke_family(sid, now, LOGOUT_REASON)
        else:  # a client without refresh tokens: `sid` is the jti of its access token
            revoked = [(sid, ended.access_expires_at)]
        live = [(jti, expires) for jti, expires in revoked if expires > now]
        for jti, expires in live:
            await grants.deny(jti, expires)
        return len(live), tokens_revoked(ended.tenant, live, actor=ended.subject, now=now)

    count: int = await ctx.runtime.commit(ended.tenant, work)
    return count
