"""`wk tenant|organisation|user|client|keys …`: identity's admin commands.

They talk to the database directly through the service layer (events go to the outbox;
the running service's relay publishes them).
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from identity.adapters.key_encryption import KeyEncryptionError
from identity.domain.api_clients import ApiClient
from identity.domain.people import Person
from identity.domain.roles import Role
from identity.domain.tenancy import Organisation, OrganisationKind
from identity.domain.texts import DomainError, Text
from identity.service import clients, directory, people
from identity.service.context import Identity
from identity.service.problems import from_validation
from identity.settings import Settings

T = TypeVar("T")
console = Console()

tenant_app = typer.Typer(help="Tenants (regional consortia)", no_args_is_help=True)
organisation_app = typer.Typer(help="Organisations inside a tenant", no_args_is_help=True)
user_app = typer.Typer(help="People with an e-mail login and roles", no_args_is_help=True)
client_app = typer.Typer(help="API clients of member organisations", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys", no_args_is_help=True)

ACTOR = "cli"


def run(job: Callable[[Identity], Awaitable[T]]) -> T:
    async def main() -> T:
        ctx = Identity.build(Settings(), run_relay=False)
        try:
            return await job(ctx)
        finally:
            ctx.runtime.storage.close()

    try:
        return asyncio.run(main())
    except KeyEncryptionError as error:
        fail(str(error))
    except DomainError as error:
        fail(str(error.text))
    except ValidationError as error:
        problem = from_validation(error)
        fail(
            "; ".join(f"{e['field']}: {e['message']}" for e in problem.errors or [])
            or str(problem.detail)
        )
    except Exception as error:
        detail = getattr(error, "detail", None)
        if detail is None:
            raise
        fail(str(detail))


def fail(message: str) -> NoReturn:
    console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(1)


async def require_tenant(ctx: Identity, tenant: str) -> None:
    if not await ctx.tenant_exists(tenant):
        raise DomainError(
            Text(f"Onbekende tenant '{tenant}'.", f"Unknown tenant '{tenant}'."), "tenant"
        )


async def require_org(ctx: Identity, tenant: str, organisation: str) -> None:
    await require_tenant(ctx, tenant)
    if await (await ctx.tenant(tenant)).organisations.get(organisation) is None:
        raise DomainError(
            Text(
                f"Onbekende organisatie '{organisation}' in tenant '{tenant}'.",
                f"Unknown organisation '{organisation}' in tenant '{tenant}'.",
            ),
            "org",
        )


@tenant_app.command("create")
def create_tenant(slug: str, name: Annotated[str, typer.Option(help="display name")]) -> None:
    tenant = run(lambda ctx: directory.register_tenant(ctx, slug=slug, name=name, actor=ACTOR))
    console.print(f"tenant {tenant.slug} created")


@organisation_app.command("create")
def create_organisation(
    tenant: Annotated[str, typer.Option()],
    slug: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    kind: Annotated[OrganisationKind, typer.Option()] = OrganisationKind.WELFARE,
) -> None:
    async def job(ctx: Identity) -> Organisation:
        await require_tenant(ctx, tenant)
        return await directory.create_organisation(
            ctx, tenant, slug=slug, name=name, kind=kind, actor=ACTOR
        )

    org = run(job)
    console.print(f"organisation {org.slug} created in {tenant}")


@user_app.command("create")
def create_user(
    tenant: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option(help="display name")],
    organisation: Annotated[str, typer.Option("--org")],
    role: Annotated[list[Role], typer.Option(help="repeat for several roles")],
    password: Annotated[str | None, typer.Option(help="prompted when omitted")] = None,
) -> None:
    secret = password or getpass.getpass("Password: ")

    async def job(ctx: Identity) -> tuple[Person, str | None]:
        await require_org(ctx, tenant, organisation)
        return await people.register_person(
            ctx,
            tenant,
            people.NewPerson(display_name=name, email=email, password=secret),
            memberships=[(organisation, role)],
            actor=ACTOR,
        )

    person, _ = run(job)
    console.print(f"person {person.id} created")


@client_app.command("create")
def create_client(
    tenant: Annotated[str, typer.Option()],
    organisation: Annotated[str, typer.Option("--org")],
    name: Annotated[str, typer.Option()],
    confidential: Annotated[bool, typer.Option(help="server client with a secret")] = False,
    scope: Annotated[list[str] | None, typer.Option()] = None,
    redirect_uri: Annotated[list[str] | None, typer.Option()] = None,
    origin: Annotated[list[str] | None, typer.Option()] = None,
) -> None:
    async def job(ctx: Identity) -> tuple[ApiClient, str | None]:
        await require_org(ctx, tenant, organisation)
        return await clients.create_client(
            ctx,
            tenant,
            organisation=organisation,
            name=name,
            confidential=confidential,
            scopes=scope or ["openid", "profile"],
            redirect_uris=redirect_uri or [],
            allowed_origins=origin or [],
        )

    client, secret = run(job)
    console.print(f"client_id: {client.client_id}")
    if secret:
        console.print(f"client_secret (shown once): {secret}")


@keys_app.command("rotate")
def rotate() -> None:
    """One rotation step (run e.g. daily): publish a next key, or promote it once it has been
    published long enough, and prune retired keys whose tokens have expired."""
    settings = Settings()
    steps = run(
        lambda ctx: ctx.keys.rotate(
            min_published=timedelta(seconds=settings.key_min_published_seconds),
            keep_retired_for=timedelta(seconds=settings.key_keep_retired_seconds),
        )
    )
    for step in steps:
        console.print(step)


@keys_app.command("rewrap")
def rewrap() -> None:
    """After putting a new key-encryption key in front of the old one
    (`WK_IDENTITY_KEY_ENCRYPTION_KEY=new,old`): seal every signing key with the new one, so
    the old one can be removed. (A restarted service does the same at start-up.)"""
    for step in run(lambda ctx: ctx.keys.rewrap()):
        console.print(step)
