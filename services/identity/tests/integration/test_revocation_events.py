"""Revocation every service honours (issue 15): identity publishes `access_token_revoked`
(RFC 7009, for an access token and for the access tokens a revoked refresh token issued),
`client_disabled` (a client is disabled) and `person_disabled` (an erasure completes)
through the outbox, and its own token verifier refuses such tokens within seconds, also on
routes that do not read the deny-list (`GET /me/token`)."""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import Any

import pytest
from identity.domain.roles import Role
from joserfc.jws import extract_compact
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

from .conftest import App
from .oauth_helpers import A, authorization_code, confidential_client, exchange, public_client
from .test_events_and_consent import stream_events

pytestmark = pytest.mark.integration

P = "/identity/v1"


def claims_of(token: str) -> dict[str, Any]:
    return dict(json.loads(extract_compact(token.encode()).payload))


async def refused_by_identitys_verifier(app: App, token: str) -> bool:
    """`/me/token` reads no deny-list: only the verifier (and its revocations) decide."""

    async def refused() -> bool:
        response = await app.http.get(f"{P}/me/token", headers={"Authorization": f"Bearer {token}"})
        return response.status_code == 401

    return bool(await eventually(refused))


async def test_revoked_access_tokens_are_announced_and_refused(
    identity: App, nats_url: str, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})

    async def login() -> dict[str, Any]:
        code, verifier = await authorization_code(identity, client.client_id, "res@a.test")
        return dict((await exchange(identity.http, client.client_id, code, verifier)).json())

    # An access token revoked on its own (RFC 7009).
    first = await login()
    token = first["access_token"]
    me = await identity.http.get(f"{P}/me/token", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    revoked = await identity.http.post(
        f"{A}/revoke", data={"token": token, "client_id": client.client_id}
    )
    assert revoked.status_code == 200
    assert await refused_by_identitys_verifier(identity, token)

    # A refresh token revoked: the access token issued with it is announced too.
    second = await login()
    await identity.http.post(
        f"{A}/revoke", data={"token": second["refresh_token"], "client_id": client.client_id}
    )
    assert await refused_by_identitys_verifier(identity, second["access_token"])

    events = await stream_events(nats_url, f"wk.{t}.identity.access_token_revoked.v1", expect=2)
    by_token = {e["data"]["token_id"]: e for e in events}
    for access_token in (token, second["access_token"]):
        claims = claims_of(access_token)
        event = by_token[claims["jti"]]
        expires = datetime.fromisoformat(event["data"]["expires_at"])
        assert int(expires.timestamp()) == claims["exp"]
        assert event["subject"] == claims["jti"] and event["actor"] == f"client:{client.client_id}"
        assert claims["sub"] not in json.dumps(event["data"])  # the token, not the person
    # A revocation that revokes nothing new (an unknown token) announces nothing.
    await identity.http.post(
        f"{A}/revoke", data={"token": "garbage", "client_id": client.client_id}
    )
    again = await stream_events(nats_url, f"wk.{t}.identity.access_token_revoked.v1", expect=2)
    assert len(again) == 2


async def test_a_disabled_client_is_announced_and_its_earlier_tokens_refused(
    identity: App, nats_url: str, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    admin = await identity.person(t, "oa@a.test", {"welzijn": [Role.ORG_ADMIN]})
    headers = await identity.headers_for(t, admin)
    client_id, secret = await confidential_client(identity, t)

    async def machine_token() -> str:
        response = await identity.http.post(
            f"{A}/token", auth=(client_id, secret), data={"grant_type": "client_credentials"}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    before = await machine_token()
    url = f"{P}/organisations/welzijn/clients/{client_id}"
    assert (await identity.http.patch(url, headers=headers, json={"disabled": True})).is_success
    assert await refused_by_identitys_verifier(identity, before)
    # Renaming a disabled client, or disabling it again, announces nothing new.
    await identity.http.patch(url, headers=headers, json={"name": "Renamed", "disabled": True})

    (event,) = await stream_events(nats_url, f"wk.{t}.identity.client_disabled.v1", expect=1)
    assert event["data"] == {"client_id": client_id}
    assert event["organisation"] == "welzijn" and event["actor"] == admin

    # Enabled again: new tokens work, the earlier ones stay refused. (Token times are whole
    # seconds: a token of the second the client was disabled in counts as earlier.)
    assert (await identity.http.patch(url, headers=headers, json={"disabled": False})).is_success
    disabled_at = datetime.fromisoformat(event["time"]).timestamp()

    async def next_second() -> bool:
        return time.time() >= math.floor(disabled_at) + 1

    await eventually(next_second)
    after = await machine_token()
    # `/me/token` is a person's: a machine token the verifier accepts gets 403
    # `person-required` (not 401), which is how this test tells "accepted" from "refused".
    ok = await identity.http.get(f"{P}/me/token", headers={"Authorization": f"Bearer {after}"})
    assert ok.status_code == 403
    assert ok.json()["type"] == "urn:wijkkracht:problem:person-required"
    old = await identity.http.get(f"{P}/me/token", headers={"Authorization": f"Bearer {before}"})
    assert old.status_code == 401
