"""`wk demo seed`: the dev-only demo tenant `demo`, idempotent (safe to run every start)."""

from __future__ import annotations

from identity.demo import demo_neighbourhoods_csv
from identity.domain.api_clients import GrantType
from identity.domain.consent import ConsentPurpose
from identity.domain.people import HouseholdType
from identity.domain.roles import Role
from identity.domain.tenancy import OrganisationKind
from identity.service import clients, consents, directory, neighbourhoods, people
from identity.service.context import Identity
from identity.settings import DEMO_BACKEND_SECRET, DEMO_PASSWORD, Settings

ACTOR = "demo-seed"
ORGS = (
    ("welzijn-demo", "Welzijn Demo", OrganisationKind.WELFARE),
    ("gemeente-demo", "Gemeente Demo", OrganisationKind.MUNICIPALITY),
)
#: (e-mail, name, organisation, roles, pc4); all log in with DEMO_PASSWORD.
USERS: tuple[tuple[str, str, str, tuple[Role, ...], str | None], ...] = (
    ("beheer@demo.test", "Beheer Demo", "welzijn-demo", (Role.TENANT_ADMIN,), None),
    ("sociaalwerker@demo.test", "Sam Sociaalwerker", "welzijn-demo", (Role.PROFESSIONAL,), None),
    ("inwoner@demo.test", "Ineke Inwoner", "welzijn-demo", (Role.RESIDENT,), "9904"),
    ("vrijwilliger@demo.test", "Vera Vrijwilliger", "welzijn-demo", (Role.VOLUNTEER,), None),
    ("analist@demo.test", "Anton Analist", "gemeente-demo", (Role.ANALYST,), None),
    ("redacteur@demo.test", "Rita Redacteur", "welzijn-demo", (Role.CONTENT_EDITOR,), None),
    (
        "makelaar@demo.test",
        "Mo Makelaar",
        "welzijn-demo",
        (Role.PROFESSIONAL, Role.BROKER),
        None,
    ),
)
#: A resident who is not online (no e-mail, no login): the broker acts for him, with his
#: consent, recorded by the broker. A fixed id so other services' demo seeds can refer to him.
OFFLINE_RESIDENT_ID = "01930000-0000-7000-8000-000000000066"
OFFLINE_RESIDENT = people.NewPerson(
    display_name="Piet Pieters",
    pc4="9901",
    birth_year=1960,
    household_type=HouseholdType.SINGLE,
)
OFFLINE_RESIDENT_CONSENTS = (ConsentPurpose.MARKETPLACE_BROKER, ConsentPurpose.SHARE_RESULTS)
BROKER_EMAIL = "makelaar@demo.test"
#: The demo broker, fixed so other services' demo seeds (the marketplace's brokered posts)
#: can refer to him.
BROKER_ID = "01930000-0000-7000-8000-000000000067"
FIXED_IDS = {BROKER_EMAIL: BROKER_ID}
FRONTEND_SCOPES = ["openid", "profile", "email", "offline_access"]
BACKEND_SCOPES = ["questionnaires.read", "effects.read", "social-map.read"]
PORTAL_CLIENT_ID = "portal"
PORTAL_SCOPES = ["openid", "profile", "email", "offline_access"]


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
    for email, name, org, roles, pc4 in USERS:
        if await repos.people.by_email(email) is None:
            await people.register_person(
                ctx,
                tenant,
                people.NewPerson(display_name=name, email=email, password=DEMO_PASSWORD, pc4=pc4),
                memberships=[(org, roles)],
                actor=ACTOR,
                fixed_id=FIXED_IDS.get(email),
            )
            created += 1
    created += await _seed_offline_resident(ctx, tenant)
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
    portal = await _seed_portal_client(ctx, tenant)
    return (
        f"tenant {tenant}: {len(ORGS)} organisations, {len(USERS) + 1} users ({created} new), "
        f"clients demo-frontend + demo-backend, portal client {portal}"
    )


async def _seed_offline_resident(ctx: Identity, tenant: str) -> int:
    """Piet, who is not online: registered by the broker, who also records (at his request)
    his consent for Welzijn Demo's brokers and for his results. Returns 1 when created."""
    repos = await ctx.tenant(tenant)
    broker = await repos.people.by_email(BROKER_EMAIL)
    actor = broker.id if broker is not None else ACTOR
    created = 0
    if await repos.people.get(OFFLINE_RESIDENT_ID) is None:
        await people.register_person(
            ctx,
            tenant,
            OFFLINE_RESIDENT,
            memberships=[("welzijn-demo", (Role.RESIDENT,))],
            actor=actor,
            assisted=True,
            fixed_id=OFFLINE_RESIDENT_ID,
        )
        created = 1
        # Granted once, when he is registered: a later re-seed must not undo his revocation.
        for purpose in OFFLINE_RESIDENT_CONSENTS:
            await consents.apply_change(
                ctx, tenant, actor, OFFLINE_RESIDENT_ID, "welzijn-demo", purpose, grant=True
            )
    return created


async def _seed_portal_client(ctx: Identity, tenant: str) -> str:
    """The reference portal's confidential client, when `WK_PORTAL_CLIENT_SECRET` is set:
    authorization code (PKCE is required for every client) + refresh token, secret by HTTP
    Basic (or in the body), redirect `<WK_PORTAL_PUBLIC_URL>/callback`. Updated when the
    secret or URL changed since the last start."""
    secret = ctx.settings.portal_client_secret
    if secret is None or not secret.get_secret_value():
        return "not registered (WK_PORTAL_CLIENT_SECRET unset)"
    base = ctx.settings.portal_public_url.rstrip("/")
    return await clients.ensure_named_client(
        ctx,
        tenant,
        client_id=PORTAL_CLIENT_ID,
        organisation="welzijn-demo",
        name="Wijkkracht portaal",
        scopes=PORTAL_SCOPES,
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        secret=secret.get_secret_value(),
        redirect_uris=[f"{base}/callback"],
        post_logout_redirect_uris=[f"{base}/"],
        actor=ACTOR,
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
