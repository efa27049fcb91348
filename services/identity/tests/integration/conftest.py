"""Identity integration fixtures: the real app on the session's embedded NATS + database.

Each app gets its own `service_name`, hence its own databases (`wk_<name>_*`, platform
database included), so key rotation or throttling in one test never leaks into another.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from identity.domain.jwt_tokens import access_token_claims, sign
from identity.domain.roles import Role
from identity.domain.tenancy import OrganisationKind
from identity.main import create_app
from identity.service import directory, people
from identity.service.context import Identity
from identity.settings import Settings
from wijkkracht_common.storage import Storage

ISSUER = "http://identity.test/identity/v1"
#: asgi-lifespan's default (5 s) is exceeded on a busy shared machine (start-up opens the
#: key store and databases); a limit for a hung start, not a measure of speed.
STARTUP_TIMEOUT = 60.0
PASSWORD = "correct-horse-battery"


def make_settings(nats_url: str, mongo_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "service_name": f"idt{uuid.uuid4().hex[:8]}",
        "env": "test",
        "nats_url": nats_url,
        "mongo_url": mongo_url,
        "issuer": ISSUER,
        "generate_keys": True,
        "login_code_pepper": "test-pepper-" + "x" * 40,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        "key_min_published_seconds": 0,
        "key_keep_retired_seconds": 0,
        # Tests say which services answer; the stream purge and export assembly run when a
        # test calls them (service.erasure.purge_streams, service.exports.assemble_pending).
        "erasure_expected_services": ["questionnaires", "effect_measurement", "social_map"],
        "erasure_purge_scan_seconds": 0,
        "export_assembly_scan_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class App:
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def ctx(self) -> Identity:
        ctx: Identity = self.app.state.identity
        return ctx

    async def token_for(
        self,
        tenant: str,
        person_id: str,
        *,
        scope: str = "openid profile",
        client_id: str = "test.client",
    ) -> str:
        """A real identity access token (signed with the active key) for an existing person."""
        db = await self.ctx.tenant_db(tenant)
        from identity.adapters.repositories import MongoRepositories
        from identity.domain.memberships import roles_claims

        roles, orgs = roles_claims(await MongoRepositories(db).memberships.of_person(person_id))
        claims = access_token_claims(
            issuer=self.ctx.policy.issuer,
            audience=self.ctx.policy.audience,
            subject=person_id,
            client_id=client_id,
            tenant=tenant,
            scope=scope,
            roles=roles,
            orgs=orgs,
            jti=uuid.uuid4().hex,
            now=self.ctx.now(),
            lifetime=self.ctx.policy.access_token_lifetime,
        )
        return sign(claims, await self.ctx.keys.current(), typ="at+jwt")

    async def headers_for(self, tenant: str, person_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token_for(tenant, person_id)}"}

    async def tenant(self, slug: str, orgs: Iterable[str] = ("welzijn",)) -> None:
        await directory.register_tenant(self.ctx, slug=slug, name=slug.upper(), actor="test")
        for org in orgs:
            await directory.create_organisation(
                self.ctx,
                slug,
                slug=org,
                name=org.title(),
                kind=OrganisationKind.WELFARE,
                actor="test",
            )

    async def person(
        self,
        tenant: str,
        email: str | None,
        roles: dict[str, list[Role]],
        *,
        pc4: str | None = None,
        display_name: str | None = None,
    ) -> str:
        person, _ = await people.register_person(
            self.ctx,
            tenant,
            people.NewPerson(
                display_name=display_name or f"Person {email}",
                email=email,
                password=PASSWORD if email else None,
                pc4=pc4,
            ),
            memberships=list(roles.items()),
            actor="test",
        )
        return person.id


@pytest.fixture
def settings_factory(nats_url: str, mongo_url: str) -> Callable[..., Settings]:
    return lambda **overrides: make_settings(nats_url, mongo_url, **overrides)


async def drop_databases(settings: Settings) -> None:
    """nx-27017 keeps at most 100 databases open and may close one that is in use when it
    evicts (sporadic "returned NULL without setting an exception"); dropping each test's
    databases keeps the session far below that cap."""
    storage = Storage(settings.mongo_url, settings.service_name)
    try:
        for tenant in await storage.tenants():
            await storage.drop_tenant(tenant)
    finally:
        storage.close()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[App]:
    """The app with these settings, started; its databases dropped afterwards."""
    app = create_app(settings)
    try:
        async with (
            LifespanManager(app, startup_timeout=STARTUP_TIMEOUT, shutdown_timeout=STARTUP_TIMEOUT),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://identity.test"
            ) as http,
        ):
            yield App(app, http)
    finally:
        await drop_databases(settings)


@pytest.fixture
async def identity(settings_factory: Callable[..., Settings]) -> AsyncIterator[App]:
    async with running(settings_factory()) as app:
        yield app
