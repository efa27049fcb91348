"""`wk demo seed`: the dev-only demo tenant `demo`, idempotent (safe to run every start)."""

from __future__ import annotations

from identity.demo import demo_neighbourhoods_csv
from identity.domain.api_clients import GrantType
from identity.domain.roles import Role
from identity.domain.tenancy import OrganisationKind
from identity.service import clients, directory, neighbourhoods, people
from identity.service.context import Identity
from identity.settings import DEMO_BACKEND_SECRET, DEMO_PASSWORD, Settings

ACTOR = "demo-seed"
ORGS = (
    ("welzijn-demo", "Welzijn Demo", OrganisationKind.WELFARE),
    ("gemeente-demo", "Gemeente Demo", OrganisationKind.MUNICIPALITY),
)
USERS: tuple[tuple[str, str, str, Role, str | None], ...] = (
    ("beheer@demo.test", "Beheer Demo", "welzijn-demo", Role.TENANT_ADMIN, None),
    ("sociaalwerker@demo.test", "Sam Sociaalwerker", "welzijn-demo", Role.PROFESSIONAL, None),
    ("inwoner@demo.test", "Ineke Inwoner", "welzijn-demo", Role.RESIDENT, "9904"),
    ("vrijwilliger@demo.test", "Vera Vrijwilliger", "welzijn-demo", Role.VOLUNTEER, None),
    ("analist@demo.test", "Anton Analist", "gemeente-demo", Role.ANALYST, None),
)
FRONTEND_SCOPES = ["openid", "profile", "email", "offline_access"]
BACKEND_SCOPES = ["questionnaires.read", "effects.read", "social-map.read"]


async def seed_with(ctx: Identity) -> str:
    tenant = ctx.settings.demo_tenant
    await directory.ensure_tenant(ctx, tenant, "Demo regio", ACTOR)
    repos = await ctx.tenant(tenant)
    for slug, name, kind in ORGS:
        if await repos.organisations.get(slug) is None:
            await directory.create_organisation(
                ctx, tenant, slug=slug, name=name, kind=kind, actor=ACTOR
            )
    if not (await repos.neighbourhoods.get()).neighbourhoods:
        await neighbourhoods.import_neighbourhoods(
            ctx, tenant, demo_neighbourhoods_csv(), actor=ACTOR
        )
    created = 0
    for email, name, org, role, pc4 in USERS:
        if await repos.people.by_email(email) is None:
            await people.register_person(
                ctx,
                tenant,
                people.NewPerson(display_name=name, email=email, password=DEMO_PASSWORD, pc4=pc4),
                memberships=[(org, [role])],
                actor=ACTOR,
            )
            created += 1
    registry = (await ctx.platform()).tenants
    if await registry.tenant_of_client_name("demo-frontend") is None:
        await clients.create_client(
            ctx,
            tenant,
            organisation="welzijn-demo",
            name="Demo frontend",
            confidential=False,
            scopes=FRONTEND_SCOPES,
            redirect_uris=["http://localhost:8080/callback"],
            allowed_origins=["http://localhost:8080"],
            post_logout_redirect_uris=["http://localhost:8080/"],
            fixed_id="demo-frontend",
        )
    if await registry.tenant_of_client_name("demo-backend") is None:
        await clients.create_client(
            ctx,
            tenant,
            organisation="welzijn-demo",
            name="Demo backend",
            confidential=True,
            scopes=BACKEND_SCOPES,
            grant_types=[GrantType.CLIENT_CREDENTIALS],
            fixed_id="demo-backend",
            fixed_secret=DEMO_BACKEND_SECRET,
        )
    return (
        f"tenant {tenant}: {len(ORGS)} organisations, {len(USERS)} users ({created} new), "
        "clients demo-frontend + demo-backend"
    )


async def seed() -> str:
    settings = Settings()
    if not settings.is_dev:
        raise RuntimeError("demo data only in dev mode (WK_ENV=dev)")
    ctx = Identity.build(settings, run_relay=False)
    try:
        await ctx.keys.ensure(generate=True)
        return await seed_with(ctx)
    finally:
        ctx.runtime.storage.close()
