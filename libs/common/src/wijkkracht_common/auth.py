"""Access-token verification against identity's JWKS, and FastAPI dependencies.

Tokens are verified locally (architecture §5): signature with a key from the cached JWKS
(refreshed when a token names an unknown `kid`, at most once per `min_refresh_seconds`),
algorithm allow-list (so `alg: none` and HS256-with-the-public-key are refused), and the
`iss`, `aud`, `exp`, `nbf` claims. Tenant and roles come from the verified token only.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from wijkkracht_common.errors import Forbidden, Unauthorized
from wijkkracht_common.tenancy import set_tenant

JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Principal:
    """Who calls: from a verified access token only."""

    subject: str
    tenant: str
    client_id: str | None = None
    roles: frozenset[str] = frozenset()
    orgs: dict[str, frozenset[str]] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()
    token_id: str | None = None

    @property
    def person_id(self) -> str | None:
        """The person behind the token (None for a client-credentials token)."""
        return None if self.subject.startswith("client:") else self.subject

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def roles_in(self, organisation: str) -> frozenset[str]:
        return self.orgs.get(organisation, frozenset())

    def organisations_with(self, *roles: str) -> list[str]:
        return sorted(org for org, rs in self.orgs.items() if rs.intersection(roles))

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def http_jwks_fetcher(url: str, timeout: float = 5.0) -> JwksFetcher:
    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document

    return fetch


class JwksCache:
    """Public keys of the issuer; refreshed on an unknown `kid`, rate-limited."""

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        min_refresh_seconds: float = 10.0,
        max_age_seconds: float = 300.0,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age_seconds
        self._keys: KeySet | None = None
        self._kids: set[str] = set()
        self._last_refresh = 0.0
        self._min_refresh = min_refresh_seconds
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        document = await self._fetch()
        self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        self._kids = {str(k.get("kid")) for k in document.get("keys", [])}
        self._last_refresh = time.monotonic()

    async def key_set_for(self, kid: str) -> KeySet | None:
        """The key set if it holds `kid`. Refreshed when `kid` is unknown (a new key) and
        when the cache is older than `max_age_seconds` (so a retired key stops verifying)."""
        fresh = time.monotonic() - self._last_refresh < self._max_age
        if fresh and self._keys is not None and kid in self._kids:
            return self._keys
        async with self._lock:
            age = time.monotonic() - self._last_refresh
            if age < self._max_age and self._keys is not None and kid in self._kids:
                return self._keys
            if self._keys is None or age >= self._min_refresh:
                try:
                    await self._refresh()
                except (httpx.HTTPError, ValueError) as error:
                    if self._keys is None:
                        raise Unauthorized(
                            "Sleutels van de uitgever niet bereikbaar. / Issuer keys unavailable."
                        ) from error
            return self._keys if kid in self._kids else None


class TokenVerifier:
    def __init__(
        self,
        jwks: JwksCache,
        *,
        issuer: str,
        audience: str,
        algorithms: Iterable[str] = ("ES256", "RS256"),
        leeway_seconds: int = 30,
        cache_size: int = 10_000,
    ) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._algorithms = [a for a in algorithms if a.upper() not in ("NONE",)]
        self._leeway = leeway_seconds
        # token → (principal, exp, kid): a front end sends the same token with every call; a
        # verified token stays valid until its own `exp` while its key is still published
        # (revocation is not checked here).
        self._verified: OrderedDict[str, tuple[Principal, float, str]] = OrderedDict()
        self._cache_size = cache_size

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            principal, exp, kid = hit
            if time.time() < exp and await self._jwks.key_set_for(kid) is not None:
                return principal
            del self._verified[token]
        principal, exp, kid = await self._verify_uncached(token)
        self._verified[token] = (principal, exp, kid)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    async def _verify_uncached(self, token: str) -> tuple[Principal, float, str]:
        invalid = "Ongeldig toegangstoken. / Invalid access token."
        try:
            header = extract_compact(token.encode()).protected
        except (JoseError, ValueError, UnicodeError) as error:
            raise Unauthorized(invalid) from error
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self._algorithms or not isinstance(kid, str):
            raise Unauthorized(invalid)
        keys = await self._jwks.key_set_for(kid)
        if keys is None:
            raise Unauthorized(invalid)
        try:
            decoded = jwt.decode(token, keys, algorithms=self._algorithms)
            registry = jwt.JWTClaimsRegistry(
                leeway=self._leeway,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
                sub={"essential": True},
                tenant={"essential": True},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise Unauthorized(invalid) from error
        claims = decoded.claims
        orgs_claim = claims.get("orgs") or {}
        if not isinstance(orgs_claim, dict):
            raise Unauthorized(invalid)
        principal = Principal(
            subject=str(claims["sub"]),
            tenant=str(claims["tenant"]),
            client_id=claims.get("client_id"),
            roles=frozenset(claims.get("roles") or ()),
            orgs={str(o): frozenset(rs) for o, rs in orgs_claim.items()},
            scopes=frozenset(str(claims.get("scope") or "").split()),
            token_id=claims.get("jti"),
        )
        return principal, float(claims["exp"]), kid


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Aanmelden vereist. / Authentication required.")
    return token.strip()


async def get_principal(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(_bearer(request))
    set_tenant(principal.tenant)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller must hold one of `roles` in some organisation."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(
                "U heeft hiervoor niet de juiste rol. / You do not have the required role.",
                required_roles=sorted(roles),
            )
        return principal

    return check
