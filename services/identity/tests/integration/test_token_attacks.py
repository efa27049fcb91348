"""Identity's own wiring of token verification: forged tokens get 401 on /me."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from identity.domain.roles import Role
from joserfc import jwt
from joserfc.jwk import ECKey
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import App

pytestmark = pytest.mark.integration


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _claims(identity: App, tenant: str, person: str) -> dict[str, Any]:
    token = await identity.token_for(tenant, person)
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


async def test_forged_tokens_are_rejected(identity: App, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    person = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    good = await identity.token_for(t, person)

    async def status(token: str) -> int:
        response = await identity.http.get(
            "/identity/v1/me", headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code == 401:
            assert response.headers["content-type"].startswith("application/problem+json")
        return response.status_code

    assert await status(good) == 200
    claims = await _claims(identity, t, person)
    keys = await identity.ctx.keys.current()
    active = keys.active_key()

    def signed(overrides: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        return jwt.encode(
            header or {"alg": "ES256", "kid": active.kid, "typ": "at+jwt"},
            {**claims, **overrides},
            active.private_key(),
        )

    none_alg = (
        _b64(json.dumps({"alg": "none", "kid": active.kid}).encode())
        + "."
        + _b64(json.dumps(claims).encode())
        + "."
    )
    assert await status(none_alg) == 401
    assert await status(signed({"aud": "someone-else"})) == 401
    assert await status(signed({"iss": "https://evil.example/identity/v1"})) == 401
    now = int(time.time())
    assert await status(signed({"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200})) == 401
    stranger = ECKey.generate_key("P-256", parameters={"kid": f"k-{uuid.uuid4().hex[:6]}"})
    unknown_kid = jwt.encode({"alg": "ES256", "kid": stranger.kid}, claims, stranger)
    assert await status(unknown_kid) == 401
    same_kid_other_key = jwt.encode({"alg": "ES256", "kid": active.kid}, claims, stranger)
    assert await status(same_kid_other_key) == 401
    head, _, sig = good.split(".")
    tampered = _b64(
        json.dumps(
            {**claims, "roles": ["tenant_admin"], "orgs": {"welzijn": ["tenant_admin"]}}
        ).encode()
    )
    assert await status(f"{head}.{tampered}.{sig}") == 401
    # HS256 "signed" with the public key (algorithm confusion).
    public_pem = json.dumps(active.public_jwk()).encode()
    hs_head = _b64(json.dumps({"alg": "HS256", "kid": active.kid}).encode())
    hs_body = _b64(json.dumps(claims).encode())
    mac = hmac.new(public_pem, f"{hs_head}.{hs_body}".encode(), hashlib.sha256).digest()
    assert await status(f"{hs_head}.{hs_body}.{_b64(mac)}") == 401
    assert await status("not-a-token") == 401
    no_bearer = await identity.http.get("/identity/v1/me")
    assert no_bearer.status_code == 401
