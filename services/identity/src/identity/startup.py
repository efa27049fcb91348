"""Start-up safety: outside dev mode, refuse demo secrets and default keys."""

from __future__ import annotations

from identity.service.context import Identity
from identity.settings import DEV_LOGIN_CODE_PEPPER, Settings

DEMO_CLIENT_NAMES = ("demo-frontend", "demo-backend")
MIN_PEPPER_LENGTH = 32


class StartupRefused(RuntimeError):
    """The service would run with demo secrets or default keys outside dev mode."""


def check_settings(settings: Settings) -> None:
    if settings.is_dev:
        return
    pepper = settings.login_code_pepper.get_secret_value()
    if pepper == DEV_LOGIN_CODE_PEPPER or len(pepper) < MIN_PEPPER_LENGTH:
        raise StartupRefused(
            f"WK_ENV={settings.env}: set WK_LOGIN_CODE_PEPPER to a random secret of at least "
            f"{MIN_PEPPER_LENGTH} characters (the built-in dev pepper is public)."
        )


async def check_database(ctx: Identity) -> None:
    """No demo tenant or demo clients outside dev; a key-encryption key is configured; keys
    exist (or are generated in dev) and open with it (clear ones are sealed now)."""
    settings = ctx.settings
    if not settings.is_dev:
        await _check_no_demo_data(ctx)
    if ctx.key_ring is None:
        if await ctx.keys.exists():
            raise StartupRefused(
                f"WK_ENV={settings.env}: the signing keys are stored encrypted and no "
                "key-encryption key is configured: set WK_IDENTITY_KEY_ENCRYPTION_KEY or "
                "WK_IDENTITY_KEY_ENCRYPTION_KEY_FILE (see docs/operations.md)."
            )
        raise StartupRefused(
            f"WK_ENV={settings.env}: no key-encryption key for the signing keys: set "
            "WK_IDENTITY_KEY_ENCRYPTION_KEY or WK_IDENTITY_KEY_ENCRYPTION_KEY_FILE (32 random "
            "bytes, base64url; see docs/operations.md), then create the signing keys with "
            "`wk keys rotate`."
        )
    await ctx.keys.ensure(generate=settings.may_generate_keys)


async def _check_no_demo_data(ctx: Identity) -> None:
    settings = ctx.settings
    registry = (await ctx.platform()).tenants
    if await registry.get(settings.demo_tenant) is not None:
        raise StartupRefused(
            f"WK_ENV={settings.env}: the demo tenant '{settings.demo_tenant}' (with published "
            "passwords) exists in this database; demo data belongs in dev mode only."
        )
    for name in DEMO_CLIENT_NAMES:
        if await registry.tenant_of_client_name(name) is not None:
            raise StartupRefused(
                f"WK_ENV={settings.env}: demo client '{name}' with a published secret exists."
            )
