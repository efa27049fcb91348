"""Access-token verification against identity's JWKS, and FastAPI dependencies.

Tokens are verified locally (architecture §5): signature with a key from the cached JWKS
(refreshed when a token names an unknown `kid`, at most once per `min_refresh_seconds`),
algorithm allow-list (so `alg: none` and HS256-with-the-public-key are refused), and the
`iss`, `aud`, `exp`, `nbf` claims. Tenant and roles come from the verified token only.

Who may call a route is declared with one of these dependencies, so every operation has a
stance on machine tokens (client credentials, `sub = client:<id>`, no person behind them):
- `PersonPrincipal` (`require_person`): a person must be calling; a machine token gets 403.
  `require_roles(...)` implies it (machine tokens carry no roles).
- `MachinePrincipal` (`allow_machine`): a machine client may call (a person may too); the
  route checks what the client may do (scopes, its organisation) itself.
- no principal at all: public.
`CurrentPrincipal` alone authenticates without a stance; `operation_stances(app)` lists every
operation's stance ("undeclared" for those), so a service's test can prove each one.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import httpx2
from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from wijkkracht_common.errors import Forbidden, Unauthorized
from wijkkracht_common.revocation import Revocations
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
    issued_at: float | None = None  # `iat`, epoch seconds

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
        async with httpx2.AsyncClient(timeout=timeout) as client:
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
                except (httpx2.HTTPError, ValueError) as error:
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
        # (revocation is not checked here). At most `cache_size` tokens, least recently used
        # dropped first, so a flood of distinct valid tokens cannot grow memory without bound.
        self._verified: OrderedDict[str, tuple[Principal, float, str]] = OrderedDict()
        self._cache_size = cache_size
        #: What identity revoked (set by the service's runtime, fed by identity's events).
        self.revocations: Revocations | None = None

    @property
    def cached_tokens(self) -> int:
        return len(self._verified)

    def _refuse_revoked(self, principal: Principal) -> Principal:
        if self.revocations is not None and self.revocations.refuses(
            tenant=principal.tenant,
            subject=principal.subject,
            client_id=principal.client_id,
            token_id=principal.token_id,
            issued_at=principal.issued_at,
        ):
            raise Unauthorized("Toegangstoken ingetrokken. / Access token revoked.")
        return principal

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            principal, exp, kid = hit
            if time.time() < exp and await self._jwks.key_set_for(kid) is not None:
                self._verified.move_to_end(token)
                return self._refuse_revoked(principal)
            self._verified.pop(token, None)
        principal, exp, kid = await self._verify_uncached(token)
        self._refuse_revoked(principal)
        if self._cache_size > 0:
            self._verified[token] = (principal, exp, kid)
            self._verified.move_to_end(token)
            while len(self._verified) > self._cache_size:
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
            issued_at=float(claims["iat"]) if isinstance(claims.get("iat"), int | float) else None,
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


async def require_person(principal: CurrentPrincipal) -> Principal:
    """Dependency: a person must be calling. A machine token (client credentials) acts for no
    person, so routes about "me" or a person's data refuse it: 403 `person-required`."""
    if principal.person_id is None:
        raise Forbidden(
            "Alleen een persoon kan dit doen, geen machinetoken. / Only a person can do this, "
            "not a machine (client-credentials) token.",
            kind="person-required",
        )
    return principal


async def allow_machine(principal: CurrentPrincipal) -> Principal:
    """Dependency: a machine client (client credentials) may call this route, and so may a
    person. It declares the route's stance; the route still checks what the caller may do
    (a client's scopes and organisation, a person's roles)."""
    return principal


PersonPrincipal = Annotated[Principal, Depends(require_person)]
MachinePrincipal = Annotated[Principal, Depends(allow_machine)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: a person must be calling who holds one of `roles` in some organisation."""

    async def check(principal: PersonPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(
                "U heeft hiervoor niet de juiste rol. / You do not have the required role.",
                required_roles=sorted(roles),
            )
        return principal

    return check


Stance = Literal["public", "person", "machine", "undeclared"]


@dataclass(frozen=True)
class OperationStance:
    """Who may call one operation (method + path) of an app."""

    method: str
    path: str
    name: str
    stance: Stance


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _stance(dependant: Dependant) -> Stance:
    calls = set(_calls(dependant))
    if require_person in calls:  # the strictest wins: it refuses machines whatever else runs
        return "person"
    if allow_machine in calls:
        return "machine"
    if get_principal in calls:
        return "undeclared"
    return "public"


def operation_stances(app: FastAPI) -> list[OperationStance]:
    """Every operation of `app` (router-level dependencies included, hidden ones too) with its
    stance on machine tokens: "person" (`require_person`, also through `require_roles`),
    "machine" (`allow_machine`), "public" (no token read), or "undeclared" (a token is read
    but no stance declared). A service's test asserts that none is undeclared and that the
    stances are the intended ones."""
    stances: list[OperationStance] = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if not isinstance(dependant, Dependant) or route.path is None:
            continue  # not a FastAPI operation (docs, mounts)
        for method in sorted(route.methods or ()):
            stances.append(
                OperationStance(method, route.path, route.name or "", _stance(dependant))
            )
    return sorted(stances, key=lambda s: (s.path, s.method))
