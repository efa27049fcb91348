"""Issues 12-14 in identity: the roles `content_editor` and `broker` are assigned like any
organisation role and travel in tokens; the purpose `marketplace_broker` is granted and
revoked like any other; `/me/token` is a person's; the login page may send its form on to the
validated client's origin only."""

from __future__ import annotations

import httpx
import pytest
from identity.domain.roles import Role
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import PASSWORD, App
from .oauth_helpers import (
    REDIRECT,
    A,
    assert_person_required,
    auth_params,
    authorization_code,
    exchange,
    machine_headers,
    pkce,
    public_client,
    submit_login,
)
from .test_events_and_consent import stream_events

pytestmark = pytest.mark.integration

P = "/identity/v1"


async def test_new_roles_are_assigned_and_carried_in_tokens(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    org_admin = await identity.person(t, "oa@a.test", {"welzijn": [Role.ORG_ADMIN]})
    admin_h = await identity.headers_for(t, org_admin)
    mo = await identity.person(t, "mo@a.test", {"welzijn": [Role.VOLUNTEER]})
    rita = await identity.person(t, "rita@a.test", {"welzijn": [Role.RESIDENT]})

    for person, roles in ((mo, ["professional", "broker"]), (rita, ["content_editor"])):
        r = await identity.http.put(
            f"{P}/people/{person}/memberships/welzijn", headers=admin_h, json={"roles": roles}
        )
        assert r.status_code == 200, r.text
        assert sorted(r.json()["roles"]) == sorted(roles)

    for email, expected in (
        ("mo@a.test", ["broker", "professional"]),
        ("rita@a.test", ["content_editor"]),
    ):
        code, verifier = await authorization_code(identity, client.client_id, email)
        tokens = (await exchange(identity.http, client.client_id, code, verifier)).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        claims = (await identity.http.get(f"{P}/me/token", headers=bearer)).json()
        assert claims["orgs"] == {"welzijn": expected}
        assert claims["roles"] == expected


async def test_marketplace_broker_consent_is_granted_and_revoked_by_the_resident(
    identity: App, two_tenants: TwoTenants, nats_url: str
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    resident = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    headers = await identity.headers_for(t, resident)
    body = {"organisation": "welzijn", "purpose": "marketplace_broker"}
    granted = await identity.http.post(f"{P}/me/consents", headers=headers, json=body)
    assert granted.status_code == 201, granted.text
    assert granted.json()["current"] == [
        {"organisation": "welzijn", "purposes": ["marketplace_broker"]}
    ]
    revoked = await identity.http.delete(
        f"{P}/me/consents/welzijn/marketplace_broker", headers=headers
    )
    assert revoked.status_code == 200 and revoked.json()["current"] == []
    assert [h["action"] for h in revoked.json()["history"]] == ["revoked", "granted"]
    (grant,) = await stream_events(nats_url, f"wk.{t}.identity.consent_granted.v1", expect=1)
    (revoke,) = await stream_events(nats_url, f"wk.{t}.identity.consent_revoked.v1", expect=1)
    assert grant["data"]["purpose"] == revoke["data"]["purpose"] == "marketplace_broker"
    assert (grant["data"]["version"], revoke["data"]["version"]) == (1, 2)


async def test_me_token_refuses_a_machine_token(identity: App, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    machine = await machine_headers(identity, t)
    assert_person_required(await identity.http.get(f"{P}/me/token", headers=machine))
    person = await identity.person(t, "p@a.test", {"welzijn": [Role.PROFESSIONAL]})
    own = await identity.http.get(f"{P}/me/token", headers=await identity.headers_for(t, person))
    assert own.status_code == 200 and own.json()["sub"] == person


def _form_action(headers: httpx.Headers) -> str:
    policy = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    return directives["form-action"]


async def test_the_login_page_allows_the_validated_redirect_origin_in_form_action(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    assert REDIRECT.startswith("http://localhost:8080/")
    _, challenge = pkce()
    params = auth_params(client.client_id, challenge)

    page = await identity.http.get(f"{A}/authorize", params=params)
    assert page.status_code == 200
    assert _form_action(page.headers) == "'self' http://localhost:8080"
    # The form shown again after a refused login, or a refused form token, may send on too.
    wrong = await submit_login(
        identity.http, params, {"email": "res@a.test", "password": "not-" + PASSWORD}
    )
    assert wrong.status_code == 401
    assert _form_action(wrong.headers) == "'self' http://localhost:8080"
    forged = await identity.http.post(
        f"{A}/authorize", data={**params, "csrf_token": "1.forged", "email": "res@a.test"}
    )
    assert forged.status_code == 403
    assert _form_action(forged.headers) == "'self' http://localhost:8080"
    # The login itself redirects there (the redirect the policy must allow).
    ok = await submit_login(identity.http, params, {"email": "res@a.test", "password": PASSWORD})
    assert ok.status_code == 303 and ok.headers["location"].startswith(REDIRECT)

    # An unregistered redirect URI or unknown client: nothing but 'self'.
    for bad in (
        {**params, "redirect_uri": "https://evil.example/callback"},
        {**params, "client_id": f"{t}.nobody"},
    ):
        refused = await identity.http.get(f"{A}/authorize", params=bad)
        assert refused.status_code == 400
        assert _form_action(refused.headers) == "'self'"
        assert "evil.example" not in refused.headers["content-security-policy"]
