"""Registers the portal's confidential OIDC client (authorization code + refresh token, PKCE,
a secret) in the demo tenant, the way identity's demo seed registers `demo-frontend`.

Test harness only, run as `python register_portal_client.py REDIRECT_URI SECRET` with the
platform's WK_* environment: identity's public API can register a confidential client only for
client credentials, so until identity's demo seed registers the portal in dev mode this is the
one place outside the public APIs (see services/portal/README.md)."""

from __future__ import annotations

import asyncio
import sys

from identity.domain.api_clients import GrantType
from identity.service import clients
from identity.service.context import Identity
from identity.settings import Settings

CLIENT_ID = "portal"
SCOPES = ["openid", "profile", "email", "offline_access"]


async def register(redirect_uri: str, secret: str) -> str:
    settings = Settings()
    ctx = Identity.build(settings, run_relay=False)
    try:
        registry = (await ctx.platform()).tenants
        if await registry.tenant_of_client_name(CLIENT_ID) is not None:
            return "exists"
        await clients.create_client(
            ctx,
            settings.demo_tenant,
            organisation="welzijn-demo",
            name="Wijkkracht portaal",
            confidential=True,
            scopes=SCOPES,
            grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
            redirect_uris=[redirect_uri],
            fixed_id=CLIENT_ID,
            fixed_secret=secret,
        )
        return "created"
    finally:
        ctx.runtime.storage.close()


if __name__ == "__main__":
    print(asyncio.run(register(sys.argv[1], sys.argv[2])))
