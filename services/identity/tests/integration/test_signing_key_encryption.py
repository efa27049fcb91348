"""Signing keys encrypted at rest (issue 16, finding 1): the stored key set holds no private
key material in clear; a wrong key-encryption key (KEK) refuses to load; keys stored in clear
are sealed at start-up; signing-key rotation and KEK rotation (re-wrap) keep tokens valid;
outside dev and test the service refuses to start without a KEK."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import typer
from asgi_lifespan import LifespanManager
from identity import cli
from identity.adapters.key_encryption import KeyEncryptionError, KeyEncryptionKey
from identity.domain.signing_keys import KeySet
from identity.main import create_app
from identity.settings import Settings
from identity.startup import StartupRefused
from pydantic import SecretStr
from typer.testing import CliRunner
from wijkkracht_common.storage import Storage

from .conftest import App, drop_databases

pytestmark = pytest.mark.integration

P = "/identity/v1"
A, B = KeyEncryptionKey.generate(), KeyEncryptionKey.generate()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[App]:
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://identity.test"
        ) as http,
    ):
        yield App(app, http)


async def stored_keyset(settings: Settings) -> dict[str, Any]:
    storage = Storage(settings.mongo_url, settings.service_name)
    try:
        doc = await (await storage.platform_db())["signing_keys"].find_one({"_id": "keyset"})
    finally:
        storage.close()
    assert doc is not None
    return doc


async def verified(app: App) -> bool:
    """A token signed with the current active key is accepted by the app."""
    token = await app.token_for("kektest", "person-1")
    me = await app.http.get(f"{P}/me/token", headers={"Authorization": f"Bearer {token}"})
    return me.status_code == 200


@pytest.fixture
async def kek_settings(settings_factory: Callable[..., Settings]) -> AsyncIterator[Settings]:
    settings = settings_factory(identity_key_encryption_key=A.encode())
    yield settings
    await drop_databases(settings)


def with_kek(settings: Settings, value: str | None, **other: Any) -> Settings:
    secret = None if value is None else SecretStr(value)
    return settings.model_copy(update={"identity_key_encryption_key": secret, **other})


async def test_the_stored_key_set_holds_no_private_key_in_clear(kek_settings: Settings) -> None:
    async with running(kek_settings) as app:
        private = [k.private_jwk["d"] for k in (await app.ctx.keys.current()).keys]
        assert await verified(app)
    doc = await stored_keyset(kek_settings)
    text = json.dumps(doc, default=str)
    assert private and not any(d in text for d in private)
    assert all("private_jwk" not in k for k in doc["keys"]) and '"d"' not in text
    assert {k["sealed_private_jwk"]["kek"] for k in doc["keys"]} == {A.id}
    assert A.encode() not in text  # the KEK never reaches the database


async def test_a_wrong_kek_refuses_to_load(kek_settings: Settings) -> None:
    async with running(kek_settings):
        pass
    with pytest.raises(KeyEncryptionError, match=f"{A.id}, which is not configured"):
        async with running(with_kek(kek_settings, B.encode())):
            pass


async def test_kek_rotation_rewraps_the_keys_and_tokens_stay_valid(
    kek_settings: Settings,
) -> None:
    async with running(kek_settings) as app:
        jwks = (await app.http.get(f"{P}/.well-known/jwks.json")).json()
        old_token = await app.token_for("kektest", "person-1")
    before = await stored_keyset(kek_settings)

    # Step 1: the new KEK in front of the old one; start-up re-wraps every key.
    async with running(with_kek(kek_settings, f"{B.encode()},{A.encode()}")) as app:
        assert (await app.http.get(f"{P}/.well-known/jwks.json")).json() == jwks
    after = await stored_keyset(kek_settings)
    assert {k["sealed_private_jwk"]["kek"] for k in after["keys"]} == {B.id}
    assert [k["sealed_private_jwk"]["ciphertext"] for k in after["keys"]] == [
        k["sealed_private_jwk"]["ciphertext"] for k in before["keys"]
    ]
    assert after["version"] == before["version"] + 1

    # Step 2: the old KEK removed; the keys open with the new one alone.
    async with running(with_kek(kek_settings, B.encode())) as app:
        assert (await app.http.get(f"{P}/.well-known/jwks.json")).json() == jwks
        me = await app.http.get(f"{P}/me/token", headers={"Authorization": f"Bearer {old_token}"})
        assert me.status_code == 200
    with pytest.raises(KeyEncryptionError):
        async with running(with_kek(kek_settings, A.encode())):
            pass


async def test_signing_key_rotation_keeps_every_key_sealed(kek_settings: Settings) -> None:
    async with running(kek_settings) as app:
        first = (await app.ctx.keys.current()).active_key().kid
        steps: list[str] = []
        for _ in range(3):  # publish next, promote it, prune the retired one
            steps += await app.ctx.keys.rotate(
                min_published=timedelta(0), keep_retired_for=timedelta(0)
            )
            stored = await stored_keyset(kek_settings)
            assert all(k["sealed_private_jwk"]["kek"] == A.id for k in stored["keys"])
            assert all("private_jwk" not in k for k in stored["keys"])
        assert any(s.startswith("published next key") for s in steps)
        assert any(s.startswith("promoted") for s in steps)
        app.ctx.keys._cached = None  # read the store now rather than after its short TTL
        assert (await app.ctx.keys.current()).active_key().kid != first
        assert await verified(app)


async def test_keys_stored_in_clear_are_sealed_at_start_up(kek_settings: Settings) -> None:
    legacy = KeySet.bootstrap(datetime.now(UTC))
    storage = Storage(kek_settings.mongo_url, kek_settings.service_name)
    try:
        await (await storage.platform_db())["signing_keys"].insert_one(
            {"_id": "keyset", "keys": legacy.model_dump()["keys"], "version": 1}
        )
    finally:
        storage.close()
    async with running(kek_settings) as app:
        active = (await app.ctx.keys.current()).active_key()
        assert (active.kid, active.private_jwk) == (
            legacy.active_key().kid,
            legacy.active_key().private_jwk,
        )
        assert await verified(app)
    doc = await stored_keyset(kek_settings)
    assert doc["version"] == 2 and [k["kid"] for k in doc["keys"]] == [legacy.active_key().kid]
    assert legacy.active_key().private_jwk["d"] not in json.dumps(doc, default=str)


async def test_outside_dev_and_test_a_kek_is_required(kek_settings: Settings) -> None:
    prod = with_kek(kek_settings, None, env="prod", generate_keys=None)
    with pytest.raises(StartupRefused, match=r"no key-encryption key.*wk keys rotate"):
        async with running(prod):
            pass
    async with running(kek_settings):  # creates the keys (test mode)
        pass
    with pytest.raises(StartupRefused, match=r"stored encrypted.*WK_IDENTITY_KEY_ENCRYPTION_KEY"):
        async with running(prod):
            pass
    async with running(with_kek(prod, A.encode())) as app:  # with its KEK, prod starts
        assert await verified(app)


def test_wk_keys_rewrap_after_a_new_kek_is_put_in_front(
    nats_url: str, mongo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "WK_SERVICE_NAME": f"idk{uuid.uuid4().hex[:8]}",
        "WK_ENV": "test",
        "WK_NATS_URL": nats_url,
        "WK_MONGO_URL": mongo_url,
        "WK_LOGIN_CODE_PEPPER": "cli-test-pepper-" + "x" * 32,
        "WK_IDENTITY_KEY_ENCRYPTION_KEY": A.encode(),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    keys = typer.Typer()
    keys.add_typer(cli.keys_app, name="keys")
    runner = CliRunner()

    def wk(*args: str) -> tuple[int, str]:
        result = runner.invoke(keys, ["keys", *args])
        return result.exit_code, " ".join(result.output.split())

    try:
        assert wk("rotate") == (0, "created the first active key")
        monkeypatch.setenv("WK_IDENTITY_KEY_ENCRYPTION_KEY", f"{B.encode()},{A.encode()}")
        assert wk("rewrap") == (0, "sealed 1 key(s) with the current KEK")
        assert wk("rewrap") == (0, "all 1 key(s) already sealed with the current KEK")
        monkeypatch.setenv("WK_IDENTITY_KEY_ENCRYPTION_KEY", B.encode())
        code, out = wk("rotate")
        assert code == 0 and out.startswith("published next key")
        monkeypatch.setenv("WK_IDENTITY_KEY_ENCRYPTION_KEY", A.encode())
        code, out = wk("rotate")
        assert code == 1 and f"{B.id}, which is not configured" in out
    finally:
        asyncio.run(drop_databases(Settings()))
