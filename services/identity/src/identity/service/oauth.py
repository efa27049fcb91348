"""OAuth 2.0 / OIDC use cases: prefetch records, call the pure domain, persist its writes.

Single use: `MarkCodeUsed` / `MarkRefreshRotated` are conditional updates; when one matches
nothing a concurrent request won, the transaction is abandoned and the decision is taken
again on the reloaded record (which then takes the replay / reuse path and revokes).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Unauthorized
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.adapters.repositories import Repositories
from identity.domain.api_clients import ApiClient
from identity.domain.authorization_request import (
    AuthorizationRejected,
    AuthorizationRequest,
    ValidatedAuthorization,
    authorization_response_location,
    issue_authorization_code,
    validate_authorization_request,
)
from identity.domain.oauth_errors import OAuthError, OAuthErrorCode, invalid_client
from identity.domain.oauth_records import (
    GrantOutcome,
    MarkCodeUsed,
    MarkRefreshRotated,
    RevokeAccessToken,
    RevokeRefreshFamily,
    StoreRefreshToken,
    Subject,
    Write,
    lookup_hash,
    tenant_of_token,
)
from identity.domain.people import Person
from identity.domain.subjects import subject_for
from identity.domain.token_grants import (
    authenticate_client,
    client_credentials_grant,
    exchange_authorization_code,
    refresh_access_token,
    revoke_token,
)
from identity.domain.userinfo import userinfo_claims
from identity.service.context import CachedClient, Db, Identity
from identity.service.revocations import tokens_revoked

#: The envelope actor of what a client's request caused (architecture: `client:<id>`).
CLIENT_ACTOR = "client:"


class _LostRace(Exception):
    """A conditional single-use update matched nothing: decide again on fresh data."""


# ---- authorization endpoint -----------------------------------------------------------------


#: Clocks of two replicas may differ a little: a copy cached up to this long after a disable
#: was announced is read again too.
_CLOCK_MARGIN_SECONDS = 5.0


async def load_client(ctx: Identity, client_id: str | None) -> ApiClient | None:
    """The registered client, from a short-lived per-process cache: the token endpoint's
    hottest read. Only found clients are cached (a new client is visible at once). A disable
    reaches every replica's cache as identity's own `client_disabled` event (the revocation
    feed); other changes (a rotated secret) take effect within `client_cache_seconds`."""
    if not client_id:
        return None
    cached = ctx.client_cache.get(client_id)
    if (
        cached is not None
        and cached.expires > time.monotonic()
        and not _disabled_since(ctx, cached)
    ):
        return cached.client
    tenant = await ctx.tenant_of_client(client_id)
    if tenant is None:
        return None
    client = await (await ctx.tenant(tenant)).clients.get(client_id)
    if client is not None:
        ctx.client_cache[client_id] = CachedClient(
            client, time.monotonic() + ctx.settings.client_cache_seconds, time.time()
        )
    return client


def _disabled_since(ctx: Identity, cached: CachedClient) -> bool:
    """Was the client announced disabled after (or about when) this copy was read?"""
    client = cached.client
    at = ctx.runtime.revocations.client_disabled_at(client.tenant, client.client_id)
    return at is not None and at >= cached.read_at - _CLOCK_MARGIN_SECONDS


async def validate_authorization(
    ctx: Identity, pairs: Iterable[tuple[str, str]]
) -> ValidatedAuthorization:
    """Raises AuthorizationRejected (its `redirect_location()` is None: show our own page)."""
    request = AuthorizationRequest.from_query(pairs)
    client = await load_client(ctx, request.client_id)
    return validate_authorization_request(request, client, ctx.policy)


async def issue_code(ctx: Identity, validated: ValidatedAuthorization, person: Person) -> str:
    now = ctx.now()
    code, record = issue_authorization_code(
        validated,
        subject=person.id,
        auth_time=now,
        now=now,
        policy=ctx.policy,
        source=ctx.random,
    )
    await (await ctx.tenant(validated.tenant)).grants.add_code(record)
    return authorization_response_location(validated, code, ctx.policy)


# ---- token endpoint -------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenResult:
    status: int
    body: dict[str, Any]
    basic: bool = False  # client tried HTTP Basic: a 401 must say so in WWW-Authenticate


def _oauth_error(error: OAuthError, basic: bool = False) -> TokenResult:
    return TokenResult(error.status_code, error.body(), basic)


def client_credentials_from(
    form: Mapping[str, str], authorization: str | None
) -> tuple[str | None, str | None, bool]:
    """(client_id, secret, used_basic). RFC 6749 §2.3.1: Basic values are form-url-encoded."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise invalid_client() from None
        user, sep, password = raw.partition(":")
        if not sep or "client_secret" in form:
            raise invalid_client()
        return unquote(user.replace("+", " ")), unquote(password.replace("+", " ")), True
    return form.get("client_id"), form.get("client_secret"), False


async def _subject(repos: Repositories, person_id: str) -> Subject | None:
    person = await repos.people.get(person_id)
    if person is None:
        return None
    return subject_for(person, await repos.memberships.of_person(person_id))


async def _apply(within: Repositories, writes: Iterable[Write]) -> list[tuple[str, datetime]]:
    """Persist the writes; returns the access tokens revoked on the way (jti, expiry)."""
    grants = within.grants
    revoked: list[tuple[str, datetime]] = []
    for write in writes:
        if isinstance(write, MarkCodeUsed):
            if not await grants.mark_code_used(write):
                raise _LostRace
        elif isinstance(write, MarkRefreshRotated):
            if not await grants.mark_refresh_rotated(write.token_hash, write.rotated_at):
                raise _LostRace
        elif isinstance(write, StoreRefreshToken):
            await grants.add_refresh(write.record)
        elif isinstance(write, RevokeRefreshFamily):
            for jti, expires in await grants.revoke_family(
                write.family_id, write.revoked_at, write.reason
            ):
                await grants.deny(jti, expires)
                revoked.append((jti, expires))
        elif isinstance(write, RevokeAccessToken):
            await grants.deny(write.jti, write.expires_at)
            revoked.append((write.jti, write.expires_at))
    return revoked


async def _persist(ctx: Identity, tenant: str, outcome: GrantOutcome, *, actor: str) -> None:
    """The writes, and an `access_token_revoked` per access token they revoked (so every
    service refuses it, not only identity), in one transaction."""
    if not outcome.writes:
        return

    async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
        revoked = await _apply(ctx.within(db, session), outcome.writes)
        return None, tokens_revoked(tenant, revoked, actor=actor, now=ctx.now())

    await ctx.runtime.commit(tenant, work)


async def token(ctx: Identity, form: Mapping[str, str], authorization: str | None) -> TokenResult:
    try:
        client_id, secret, basic = client_credentials_from(form, authorization)
    except OAuthError as error:
        return _oauth_error(error, True)
    if not client_id:
        return _oauth_error(invalid_client(), basic)
    client = await load_client(ctx, client_id)
    try:
        client = authenticate_client(client, client_id=client_id, client_secret=secret)
    except OAuthError as error:
        return _oauth_error(error, basic)
    grant = form.get("grant_type")
    tenant = client.tenant
    repos = await ctx.tenant(tenant)
    for _attempt in range(3):
        keys = await ctx.keys.current()
        now = ctx.now()
        if grant == "authorization_code":
            code = form.get("code") or ""
            record = (
                await repos.grants.get_code(lookup_hash(code))
                if tenant_of_token(code) == tenant
                else None
            )
            outcome = exchange_authorization_code(
                client=client,
                code=code,
                code_record=record,
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
                subject=await _subject(repos, record.subject) if record else None,
                keys=keys,
                policy=ctx.policy,
                now=now,
                source=ctx.random,
            )
        elif grant == "refresh_token":
            presented = form.get("refresh_token") or ""
            refresh = (
                await repos.grants.get_refresh(lookup_hash(presented))
                if tenant_of_token(presented) == tenant
                else None
            )
            outcome = refresh_access_token(
                client=client,
                presented_token=presented,
                record=refresh,
                requested_scope=form.get("scope"),
                subject=await _subject(repos, refresh.subject) if refresh else None,
                keys=keys,
                policy=ctx.policy,
                now=now,
                source=ctx.random,
            )
        elif grant == "client_credentials":
            outcome = client_credentials_grant(
                client=client,
                requested_scope=form.get("scope"),
                keys=keys,
                policy=ctx.policy,
                now=now,
                source=ctx.random,
            )
        elif not grant:
            return _oauth_error(OAuthError(OAuthErrorCode.INVALID_REQUEST, "grant_type missing"))
        else:
            return _oauth_error(
                OAuthError(
                    OAuthErrorCode.UNSUPPORTED_GRANT_TYPE,
                    "supported: authorization_code, refresh_token, client_credentials",
                )
            )
        try:
            await _persist(ctx, tenant, outcome, actor=CLIENT_ACTOR + client.client_id)
        except _LostRace:
            continue
        if outcome.error is not None:
            return _oauth_error(outcome.error, basic)
        assert outcome.response is not None
        return TokenResult(200, outcome.response.body())
    return _oauth_error(OAuthError(OAuthErrorCode.INVALID_GRANT, "grant already used"))


async def revoke(ctx: Identity, form: Mapping[str, str], authorization: str | None) -> TokenResult:
    """RFC 7009: 200 for any token once the client is authenticated."""
    try:
        client_id, secret, _ = client_credentials_from(form, authorization)
        client = authenticate_client(
            await load_client(ctx, client_id) if client_id else None,
            client_id=client_id or "",
            client_secret=secret,
        )
    except OAuthError as error:
        return _oauth_error(error, True)
    presented = form.get("token")
    if not presented:
        return _oauth_error(OAuthError(OAuthErrorCode.INVALID_REQUEST, "token missing"))
    repos = await ctx.tenant(client.tenant)
    record = (
        await repos.grants.get_refresh(lookup_hash(presented))
        if tenant_of_token(presented) == client.tenant
        else None
    )
    writes = revoke_token(
        client=client,
        token=presented,
        refresh_record=record,
        jwks=await ctx.keys.jwks(),
        policy=ctx.policy,
        now=ctx.now(),
    )
    await _persist(
        ctx, client.tenant, GrantOutcome(writes=writes), actor=CLIENT_ACTOR + client.client_id
    )
    return TokenResult(200, {})


async def userinfo(ctx: Identity, principal: Principal) -> dict[str, Any] | None:
    """None: not a user token with `openid`, revoked, or the person is gone."""
    if principal.person_id is None:
        return None
    repos = await ctx.tenant(principal.tenant)
    if principal.token_id and await repos.grants.is_denied(principal.token_id):
        raise Unauthorized("Ongeldig toegangstoken. / Invalid access token.")
    person = await repos.people.get(principal.person_id)
    if person is None:
        return None
    subject = subject_for(person, await repos.memberships.of_person(person.id))
    return userinfo_claims(person, subject, principal.scopes)


async def is_revoked(ctx: Identity, principal: Principal) -> bool:
    """Identity's own endpoints also refuse access tokens on the deny-list, from the request
    that revoked them on (every service refuses them within seconds through
    `access_token_revoked`)."""
    if not principal.token_id:
        return False
    return await (await ctx.tenant(principal.tenant)).grants.is_denied(principal.token_id)


__all__ = ["AuthorizationRejected", "TokenResult", "is_revoked", "revoke", "token", "userinfo"]
