"""A professional's caseload (issue 14): the residents who currently consent to the
organisation, each listing access-logged for the resident; only for the organisation's
professionals, org admins and brokers (anyone else 404, machine tokens 403); a resident who
revokes is gone. Consent recorded by staff for a resident who is not online (issue 13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from identity.adapters.documents import to_doc
from identity.domain.consent import ConsentLedger, ConsentPurpose
from identity.domain.roles import Role
from identity.service import consents, neighbourhoods
from wijkkracht_common.access_log import ACCESS_LOG
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

from .conftest import App
from .oauth_helpers import assert_person_required, machine_headers
from .test_events_and_consent import stream_events

pytestmark = pytest.mark.integration

P = "/identity/v1"
HOODS = "code,name,lat,lon,postcodes\nN1,Noord,52.1,4.8,1011\nN2,Zuid,52.0,4.8,1012\n"


async def _grant(app: App, headers: dict[str, str], org: str, purpose: str) -> None:
    r = await app.http.post(
        f"{P}/me/consents", headers=headers, json={"organisation": org, "purpose": purpose}
    )
    assert r.status_code == 201, r.text


async def _caseload(
    app: App, headers: dict[str, str], org: str = "welzijn", **params: Any
) -> dict[str, Any]:
    r = await app.http.get(f"{P}/organisations/{org}/caseload", headers=headers, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_the_caseload_lists_consenting_residents_and_logs_each_listing(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t, orgs=("welzijn", "buurtwerk"))
    await neighbourhoods.import_neighbourhoods(identity.ctx, t, HOODS, actor="test")
    ria = await identity.person(
        t, "ria@a.test", {"welzijn": [Role.RESIDENT]}, pc4="1012", display_name="Ria Rood"
    )
    bas = await identity.person(t, "bas@a.test", {"buurtwerk": [Role.RESIDENT]})
    cor = await identity.person(t, "cor@a.test", {"welzijn": [Role.RESIDENT]}, pc4="1011")
    pro = await identity.person(
        t, "pro@a.test", {"welzijn": [Role.PROFESSIONAL]}, display_name="Petra Jansen"
    )
    ria_h = await identity.headers_for(t, ria)
    await _grant(identity, ria_h, "welzijn", "share_results")
    await _grant(identity, ria_h, "welzijn", "marketplace_broker")
    await _grant(identity, await identity.headers_for(t, bas), "buurtwerk", "research")
    cor_h = await identity.headers_for(t, cor)
    await _grant(identity, cor_h, "welzijn", "share_learning_progress")
    pro_h = await identity.headers_for(t, pro)

    page = await _caseload(identity, pro_h)
    by_id = {item["id"]: item for item in page["items"]}
    assert set(by_id) == {ria, cor} and page["next_cursor"] is None  # not buurtwerk's bas
    assert by_id[ria]["display_name"] == "Ria Rood"
    assert by_id[ria]["neighbourhood_code"] == "N2"
    assert by_id[ria]["purposes"] == ["marketplace_broker", "share_results"]
    assert datetime.fromisoformat(by_id[ria]["since"]).tzinfo is not None
    assert set(by_id[ria]) == {"id", "display_name", "neighbourhood_code", "purposes", "since"}

    # One purpose; pages of one follow the cursor without repeats.
    brokered = await _caseload(identity, pro_h, purpose="marketplace_broker")
    assert [i["id"] for i in brokered["items"]] == [ria]
    assert brokered["items"][0]["purposes"] == ["marketplace_broker", "share_results"]
    assert (await _caseload(identity, pro_h, purpose="share_with_gp"))["items"] == []
    first = await _caseload(identity, pro_h, limit=1)
    assert first["next_cursor"] is not None
    second = await _caseload(identity, pro_h, limit=1, cursor=first["next_cursor"])
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {ria, cor}
    bad = await identity.http.get(
        f"{P}/organisations/welzijn/caseload", headers=pro_h, params={"purpose": "gossip"}
    )
    assert bad.status_code == 422

    # Each listing is in the resident's own access log, in words, for the organisation.
    db = await identity.ctx.tenant_db(t)
    logged = await db[ACCESS_LOG].count_documents({"actor": pro, "resident": ria})
    assert logged == 3  # every call that listed her (one of the two pages of one)

    async def ria_sees_it() -> list[dict[str, Any]]:
        lines = (await identity.http.get(f"{P}/me/access-log", headers=ria_h)).json()["items"]
        return [line for line in lines if line["actor"] == pro]

    line = (await eventually(ria_sees_it))[0]
    assert line["who"] == "P. Jansen, sociaal werker"
    assert line["organisation"] == {"slug": "welzijn", "name": "Welzijn"}
    assert line["what"] == "zag in een lijst uw naam en wijk"
    assert "toestemming" in line["why"]

    # A resident who revokes everything is gone from the next read; the other stays.
    for purpose in ("share_results", "marketplace_broker"):
        r = await identity.http.delete(f"{P}/me/consents/welzijn/{purpose}", headers=ria_h)
        assert r.status_code == 200
    assert [i["id"] for i in (await _caseload(identity, pro_h))["items"]] == [cor]
    assert (await _caseload(identity, pro_h, purpose="marketplace_broker"))["items"] == []
    # A resident who asks for erasure (which revokes every consent) is gone too.
    assert (await identity.http.post(f"{P}/me/erasure", headers=cor_h)).status_code == 202
    assert (await _caseload(identity, pro_h))["items"] == []


async def test_only_the_organisations_professionals_admins_and_brokers_see_it(
    identity: App, two_tenants: TwoTenants
) -> None:
    t, other = two_tenants.a, two_tenants.b
    await identity.tenant(t, orgs=("welzijn", "buurtwerk"))
    await identity.tenant(other, orgs=("welzijn",))
    resident = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    await _grant(identity, await identity.headers_for(t, resident), "welzijn", "share_results")

    for roles in ([Role.PROFESSIONAL], [Role.ORG_ADMIN], [Role.BROKER]):
        staff = await identity.person(t, f"{roles[0]}@a.test", {"welzijn": roles})
        page = await _caseload(identity, await identity.headers_for(t, staff))
        assert [i["id"] for i in page["items"]] == [resident], roles

    refused: list[tuple[str, dict[str, list[Role]]]] = [
        ("vol@a.test", {"welzijn": [Role.VOLUNTEER]}),
        ("editor@a.test", {"welzijn": [Role.CONTENT_EDITOR]}),
        ("ta@a.test", {"welzijn": [Role.TENANT_ADMIN]}),
        ("res2@a.test", {"welzijn": [Role.RESIDENT]}),
        ("otherpro@a.test", {"buurtwerk": [Role.PROFESSIONAL, Role.ORG_ADMIN]}),
    ]
    for email, roles in refused:
        person = await identity.person(t, email, roles)
        r = await identity.http.get(
            f"{P}/organisations/welzijn/caseload", headers=await identity.headers_for(t, person)
        )
        assert r.status_code == 404, (email, r.status_code)
        assert r.headers["content-type"] == "application/problem+json"
    pro = await identity.person(t, "pro@a.test", {"welzijn": [Role.PROFESSIONAL]})
    unknown = await identity.http.get(
        f"{P}/organisations/nergens/caseload", headers=await identity.headers_for(t, pro)
    )
    assert unknown.status_code == 404

    # Tenant B: its own "welzijn" has nobody consenting; tenant A's residents never show,
    # and an organisation of tenant A only is 404 even with a role claimed for it.
    b_pro = await identity.person(
        other, "pro@b.test", {"welzijn": [Role.PROFESSIONAL]}, display_name="B Pro"
    )
    b_headers = await identity.headers_for(other, b_pro)
    assert (await _caseload(identity, b_headers))["items"] == []
    claimed = await identity.http.get(f"{P}/organisations/buurtwerk/caseload", headers=b_headers)
    assert claimed.status_code == 404

    # A machine (client-credentials) token is refused: a person must be calling.
    machine = await machine_headers(identity, t)
    assert_person_required(
        await identity.http.get(f"{P}/organisations/welzijn/caseload", headers=machine)
    )
    assert_person_required(
        await identity.http.post(
            f"{P}/people/{resident}/consents",
            headers=machine,
            json={"organisation": "welzijn", "purpose": "research"},
        )
    )


async def test_staff_record_consent_for_a_resident_who_is_not_online(
    identity: App, two_tenants: TwoTenants, nats_url: str
) -> None:
    t = two_tenants.a
    await identity.tenant(t, orgs=("welzijn", "buurtwerk"))
    piet = await identity.person(t, None, {"welzijn": [Role.RESIDENT]}, display_name="Piet Pieters")
    stranger = await identity.person(t, None, {"buurtwerk": [Role.RESIDENT]})
    broker = await identity.person(
        t,
        "mo@a.test",
        {"welzijn": [Role.PROFESSIONAL, Role.BROKER]},
        display_name="Mo Makelaar",
    )
    broker_h = await identity.headers_for(t, broker)
    body = {"organisation": "welzijn", "purpose": "marketplace_broker"}

    recorded = await identity.http.post(f"{P}/people/{piet}/consents", headers=broker_h, json=body)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["current"] == [
        {"organisation": "welzijn", "purposes": ["marketplace_broker"]}
    ]
    assert recorded.json()["history"][0]["by"] == broker
    again = await identity.http.post(f"{P}/people/{piet}/consents", headers=broker_h, json=body)
    assert again.status_code == 200
    page = await _caseload(identity, broker_h, purpose="marketplace_broker")
    assert [(i["id"], i["display_name"]) for i in page["items"]] == [(piet, "Piet Pieters")]
    (event,) = await stream_events(nats_url, f"wk.{t}.identity.consent_granted.v1", expect=1)
    assert event["subject"] == piet and event["actor"] == broker
    assert event["data"]["purpose"] == "marketplace_broker" and event["data"]["version"] == 1
    db = await identity.ctx.tenant_db(t)
    logged = await db[ACCESS_LOG].find_one({"actor": broker, "resource": "consent/welzijn"})
    assert logged is not None and logged["resident"] == piet
    assert logged["on_behalf_of"] == "welzijn" and logged["reason"] == "assisted_consent"

    # Not for a resident of another organisation, not for another organisation, not for
    # staff without the role there, never with a machine token.
    for person_id, org in ((stranger, "welzijn"), (piet, "buurtwerk"), ("nobody", "welzijn")):
        r = await identity.http.post(
            f"{P}/people/{person_id}/consents",
            headers=broker_h,
            json={"organisation": org, "purpose": "share_results"},
        )
        assert r.status_code == 404, (person_id, org)
    volunteer = await identity.person(t, "vol@a.test", {"welzijn": [Role.VOLUNTEER]})
    r = await identity.http.post(
        f"{P}/people/{piet}/consents",
        headers=await identity.headers_for(t, volunteer),
        json=body,
    )
    assert r.status_code == 404

    withdrawn = await identity.http.delete(
        f"{P}/people/{piet}/consents/welzijn/marketplace_broker", headers=broker_h
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["current"] == []
    assert (await _caseload(identity, broker_h))["items"] == []


async def test_ledgers_stored_before_the_caseload_existed_join_it_after_the_upgrade(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    resident = await identity.person(t, "old@a.test", {"welzijn": [Role.RESIDENT]})
    pro = await identity.person(t, "pro@a.test", {"welzijn": [Role.PROFESSIONAL]})
    pro_h = await identity.headers_for(t, pro)
    # A ledger as an earlier version stored it: the history only.
    ledger, _ = ConsentLedger(person_id=resident).grant(
        "welzijn", ConsentPurpose.RESEARCH, by=resident, at=identity.ctx.now()
    )
    db = await identity.ctx.tenant_db(t)
    await db["consents"].insert_one(to_doc(ledger, "person_id"))
    assert (await _caseload(identity, pro_h))["items"] == []

    assert await consents.index_current_grants(identity.ctx) == 1
    assert [i["id"] for i in (await _caseload(identity, pro_h))["items"]] == [resident]
    assert await consents.index_current_grants(identity.ctx) == 0  # idempotent
