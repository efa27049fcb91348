"""`wk tenant|organisation|user|client|keys …` through typer's CliRunner against the embedded
database (the commands build their own Settings from WK_* environment variables)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import typer
from identity import cli
from identity.settings import Settings
from pymongo import MongoClient
from typer.testing import CliRunner

from .conftest import drop_databases

pytestmark = pytest.mark.integration

wk = typer.Typer()
for _name, _sub in {
    "tenant": cli.tenant_app,
    "organisation": cli.organisation_app,
    "user": cli.user_app,
    "client": cli.client_app,
    "keys": cli.keys_app,
}.items():
    wk.add_typer(_sub, name=_name)


@dataclass
class Cli:
    service: str
    db: MongoClient[dict[str, object]]
    runner: CliRunner

    def __call__(self, *args: str) -> tuple[int, str]:
        result = self.runner.invoke(wk, list(args))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, " ".join(result.output.split())

    def tenant_db(self, tenant: str) -> object:
        return self.db[f"wk_{self.service}_{tenant}"]


@pytest.fixture
def wk_cli(nats_url: str, mongo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    service = f"idc{uuid.uuid4().hex[:8]}"
    env = {
        "WK_SERVICE_NAME": service,
        "WK_ENV": "test",
        "WK_NATS_URL": nats_url,
        "WK_MONGO_URL": mongo_url,
        "WK_LOGIN_CODE_PEPPER": "cli-test-pepper-" + "x" * 32,
        "WK_ARGON2_TIME_COST": "1",
        "WK_ARGON2_MEMORY_KIB": "1024",
        "WK_ARGON2_PARALLELISM": "1",
        "WK_KEY_MIN_PUBLISHED_SECONDS": "0",
        "WK_KEY_KEEP_RETIRED_SECONDS": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    try:
        yield Cli(service, client, CliRunner())
    finally:
        client.close()
        asyncio.run(drop_databases(Settings()))


def test_tenant_organisation_user_and_client_create(wk_cli: Cli) -> None:
    slug = f"regio-{uuid.uuid4().hex[:6]}"
    assert wk_cli("tenant", "create", slug, "--name", "Regio") == (0, f"tenant {slug} created")
    code, out = wk_cli("tenant", "create", slug, "--name", "Regio")
    assert code == 1 and "Deze tenant bestaat al" in out
    code, out = wk_cli("tenant", "create", "Bad Slug", "--name", "X")
    assert code == 1 and "slug" in out.lower()
    code, out = wk_cli("tenant", "create", "platform", "--name", "X")
    assert code == 1 and "gereserveerd" in out

    assert wk_cli(
        "organisation",
        "create",
        "--tenant",
        slug,
        "--slug",
        "welzijn",
        "--name",
        "Welzijn",
        "--kind",
        "welfare",
    ) == (0, f"organisation welzijn created in {slug}")
    code, out = wk_cli(
        "organisation", "create", "--tenant", slug, "--slug", "welzijn", "--name", "Welzijn"
    )
    assert code == 1 and "organisatie bestaat al" in out
    code, out = wk_cli(
        "organisation", "create", "--tenant", "nergens", "--slug", "org", "--name", "Org"
    )
    assert code == 1 and "Onbekende tenant 'nergens'" in out
    code, out = wk_cli(
        "organisation",
        "create",
        "--tenant",
        slug,
        "--slug",
        "org",
        "--name",
        "Org",
        "--kind",
        "shop",
    )
    assert code == 2  # typer refuses an unknown kind before anything runs

    code, out = wk_cli(
        "user",
        "create",
        "--tenant",
        slug,
        "--email",
        "Ada@Example.org",
        "--name",
        "Ada",
        "--org",
        "welzijn",
        "--role",
        "org_admin",
        "--role",
        "professional",
        "--password",
        "een-lang-wachtwoord",
    )
    assert code == 0 and out.startswith("person ")
    person_id = out.split()[1]
    tdb = wk_cli.tenant_db(slug)
    person = tdb["people"].find_one({"_id": person_id})  # type: ignore[index]
    assert person["email"] == "ada@example.org" and person["password_hash"].startswith("$argon2")
    roles = tdb["memberships"].find_one({"person_id": person_id})["roles"]  # type: ignore[index]
    assert sorted(roles) == ["org_admin", "professional"]
    code, out = wk_cli(
        "user",
        "create",
        "--tenant",
        slug,
        "--email",
        "ada@example.org",
        "--name",
        "Ada",
        "--org",
        "welzijn",
        "--role",
        "resident",
        "--password",
        "een-lang-wachtwoord",
    )
    assert code == 1 and "e-mailadres" in out
    code, out = wk_cli(
        "user",
        "create",
        "--tenant",
        slug,
        "--email",
        "bo@example.org",
        "--name",
        "Bo",
        "--org",
        "welzijn",
        "--role",
        "resident",
        "--password",
        "kort",
    )
    assert code == 1 and "wachtwoord" in out.lower()
    code, out = wk_cli(
        "user",
        "create",
        "--tenant",
        slug,
        "--email",
        "bo@example.org",
        "--name",
        "Bo",
        "--org",
        "elders",
        "--role",
        "resident",
        "--password",
        "een-lang-wachtwoord",
    )
    assert code == 1 and "Onbekende organisatie 'elders'" in out
    code, _ = wk_cli(
        "user",
        "create",
        "--tenant",
        slug,
        "--email",
        "bo@example.org",
        "--name",
        "Bo",
        "--org",
        "welzijn",
        "--role",
        "wizard",
        "--password",
        "een-lang-wachtwoord",
    )
    assert code == 2

    code, out = wk_cli(
        "client",
        "create",
        "--tenant",
        slug,
        "--org",
        "welzijn",
        "--name",
        "Backend",
        "--confidential",
        "--scope",
        "effects.read",
    )
    assert code == 0 and f"client_id: {slug}." in out and "client_secret (shown once):" in out
    code, out = wk_cli(
        "client",
        "create",
        "--tenant",
        slug,
        "--org",
        "welzijn",
        "--name",
        "App",
        "--redirect-uri",
        "https://app.example/cb",
        "--origin",
        "https://app.example",
    )
    assert code == 0 and "client_secret" not in out
    client_id = out.split("client_id: ")[1].split()[0]
    stored = tdb["clients"].find_one({"_id": client_id})  # type: ignore[index]
    assert stored["redirect_uris"] == ["https://app.example/cb"]
    code, out = wk_cli(
        "client",
        "create",
        "--tenant",
        slug,
        "--org",
        "welzijn",
        "--name",
        "App",
        "--redirect-uri",
        "http://app.example/cb",
    )
    assert code == 1 and "redirect_uris" in out and "https" in out
    code, out = wk_cli("client", "create", "--tenant", slug, "--org", "welzijn", "--name", "App")
    assert code == 1 and "redirect" in out.lower()  # the code flow needs a redirect URI
    code, out = wk_cli("client", "create", "--tenant", slug, "--org", "nope", "--name", "App")
    assert code == 1 and "Onbekende organisatie 'nope'" in out


def test_keys_rotate_steps(wk_cli: Cli) -> None:
    assert wk_cli("keys", "rotate") == (0, "created the first active key")
    code, out = wk_cli("keys", "rotate")
    assert code == 0 and out.startswith("published next key")
    code, out = wk_cli("keys", "rotate")
    assert code == 0 and "promoted" in out and "to active" in out
    keyset = wk_cli.db[f"wk_{wk_cli.service}_platform"]["signing_keys"].find_one({"_id": "keyset"})
    assert keyset is not None
    assert [k["status"] for k in keyset["keys"]].count("active") == 1  # type: ignore[union-attr]
