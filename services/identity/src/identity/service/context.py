"""Everything a use case needs, built once per process (HTTP app, CLI or demo seed).

Use cases reach the database only through `repositories(db, session)` (MongoDB here, an
in-memory fake in unit tests) and change state only through `runtime.commit`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from wijkkracht_common.errors import NotFound
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session

from identity.adapters.kek_source import load_key_ring
from identity.adapters.key_encryption import KeyRing
from identity.adapters.repositories import MongoRepositories, MongoSigningKeys, Repositories
from identity.adapters.schema import INDEXES
from identity.domain.api_clients import ApiClient, tenant_of_client_id
from identity.domain.login_throttle import DelaySchedule, LoginThrottlePolicy
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.randomness import SYSTEM_RANDOM, RandomSource
from identity.domain.signing_keys import DEFAULT_ALG, SIGNING_ALGS, SigningAlg
from identity.domain.slugs import PLATFORM_TENANT, is_valid_slug
from identity.service.keys import KeyStore
from identity.service.passwords import HashingSlots, PasswordHasher, available_cpus
from identity.settings import Settings

Db = Database[dict[str, Any]]
#: The repositories of one database; with a session, inside that transaction.
RepositoryFactory = Callable[[Db, Session | None], Repositories]

NOT_FOUND = "Niet gevonden. / Not found."


def throttle_policy(settings: Settings) -> LoginThrottlePolicy:
    first = timedelta(seconds=settings.login_first_delay_seconds)
    longest = timedelta(seconds=settings.login_max_delay_seconds)
    return LoginThrottlePolicy(
        per_account_source=DelaySchedule(
            settings.login_free_failures_per_account_source, first, longest
        ),
        per_source=DelaySchedule(settings.login_free_failures_per_source, first, longest),
        memory=timedelta(seconds=settings.login_failure_memory_seconds),
        notice_after=settings.login_notice_after_failures,
        notice_every=timedelta(seconds=settings.login_notice_interval_seconds),
    )


@dataclass(frozen=True, slots=True)
class CachedClient:
    """The token endpoint's copy of a client: until `expires` (monotonic), read at `read_at`
    (epoch seconds, compared with when a disable was announced)."""

    client: ApiClient
    expires: float
    read_at: float


@dataclass
class Identity:
    settings: Settings
    runtime: ServiceRuntime
    keys: KeyStore
    hasher: PasswordHasher
    policy: OAuthPolicy
    throttle: LoginThrottlePolicy
    random: RandomSource = SYSTEM_RANDOM
    repositories: RepositoryFactory = MongoRepositories
    #: Seals the private signing keys at rest; None only where none is configured (then
    #: the service refuses to start, `startup.check_database`).
    key_ring: KeyRing | None = None
    _known_tenants: set[str] = field(default_factory=set)
    client_cache: dict[str, CachedClient] = field(default_factory=dict)
    #: Bounds the password hashes running at once (`Settings.password_hash_concurrency`).
    hashing: HashingSlots = field(init=False)

    def __post_init__(self) -> None:
        slots = self.settings.password_hash_concurrency or 2 * available_cpus()
        self.hashing = HashingSlots(slots)

    @classmethod
    def build(cls, settings: Settings, *, run_relay: bool = True) -> Identity:
        runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=run_relay, with_mail=True)
        key_ring = load_key_ring(settings)

        def signing_keys(alg: SigningAlg) -> Callable[[], Awaitable[MongoSigningKeys]]:
            async def of_alg() -> MongoSigningKeys:
                return MongoSigningKeys(await runtime.storage.platform_db(), key_ring, alg=alg)

            return of_alg

        more = {alg: signing_keys(alg) for alg in SIGNING_ALGS if alg != DEFAULT_ALG}
        return cls(
            settings=settings,
            runtime=runtime,
            keys=KeyStore(signing_keys(DEFAULT_ALG), more=more),
            key_ring=key_ring,
            hasher=PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_cost_kib=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            ),
            policy=OAuthPolicy(
                issuer=settings.issuer.rstrip("/"), audience=settings.token_audience
            ),
            throttle=throttle_policy(settings),
        )

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    @property
    def pepper(self) -> bytes:
        return self.settings.login_code_pepper.get_secret_value().encode()

    @property
    def csrf_key(self) -> bytes:
        """Login-form CSRF key, derived from the pepper (a separate purpose, same secret)."""
        return hmac.new(self.pepper, b"wijkkracht login csrf v1", hashlib.sha256).digest()

    async def platform_db(self) -> Db:
        return await self.runtime.storage.platform_db()

    async def tenant_db(self, tenant: str) -> Db:
        return await self.runtime.storage.tenant_db(tenant)

    async def tenant(self, tenant: str) -> Repositories:
        """The tenant's repositories, for reads and writes outside a transaction."""
        return self.repositories(await self.tenant_db(tenant), None)

    async def platform(self) -> Repositories:
        return self.repositories(await self.platform_db(), None)

    def within(self, db: Db, session: Session) -> Repositories:
        """The repositories inside `runtime.commit`'s transaction (its `work(db, session)`)."""
        return self.repositories(db, session)

    async def tenant_exists(self, tenant: str) -> bool:
        """Checked before opening a tenant database for an unauthenticated caller, so a
        made-up tenant prefix never creates a database."""
        if tenant in self._known_tenants:
            return True
        if not is_valid_slug(tenant):
            return False
        if tenant == PLATFORM_TENANT or await (await self.platform()).tenants.get(tenant):
            self._known_tenants.add(tenant)
            return True
        return False

    async def existing_tenant_db(self, tenant: str) -> Db:
        if not await self.tenant_exists(tenant):
            raise NotFound(NOT_FOUND)
        return await self.tenant_db(tenant)

    async def tenant_of_client(self, client_id: str) -> str | None:
        """`<tenant>.<random>` ids carry it; registered names are looked up."""
        tenant = tenant_of_client_id(client_id)
        if tenant is None and is_valid_slug(client_id):
            tenant = await (await self.platform()).tenants.tenant_of_client_name(client_id)
        if tenant is None or not await self.tenant_exists(tenant):
            return None
        return tenant

    async def hash_password(self, password: str) -> str:
        return await self.hashing.run(self.hasher.hash, password)

    async def verify_password(self, password_hash: str | None, password: str) -> bool:
        if password_hash is None:
            await self.hashing.run(self.hasher.dummy_verify, password)
            return False
        return await self.hashing.run(self.hasher.verify, password_hash, password)
