"""The learning record store on the real database: authentication (Basic and bearer),
scoping (tenant, person), bad input with the status codes xAPI prescribes, voiding,
documents with ETags, erasure. (The ADL conformance suite runs against a started service:
README, "xAPI conformance".)"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from learning_paths.main import PREFIX
from lp_harness import Api
from wijkkracht_common import privacy_scan
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.testing.plugin import TEST_ISSUER_URL, TwoTenants

pytestmark = pytest.mark.integration

XAPI = f"{PREFIX}/xapi"
V = {"X-Experience-API-Version": "2.0.0"}
ATTENDED = {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"nl": "woonde bij"}}
PERSON = "0190c0de-bbbb-7ccc-8ddd-444455556666"


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", **V}


def account(person: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": TEST_ISSUER_URL, "name": person}}


def statement(actor: dict[str, Any], activity: str = "http://example.org/a/1") -> dict[str, Any]:
    return {
        "actor": actor,
        "verb": ATTENDED,
        "object": {"id": activity, "definition": {"name": {"nl": "Koffieochtend"}}},
    }


async def test_basic_and_bearer_authentication(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    api.credentials.add("lrs-client", "geheim", t)
    client = basic("lrs-client", "geheim")
    posted = await api.client.post(
        f"{XAPI}/statements", json=statement({"mbox": "mailto:a@example.org"}), headers=client
    )
    assert posted.status_code == 200, posted.text
    assert posted.headers["x-experience-api-version"] == "2.0.0"
    (statement_id,) = posted.json()
    got = await api.client.get(f"{XAPI}/statements?statementId={statement_id}", headers=client)
    assert got.status_code == 200
    assert got.json()["authority"]["account"]["name"] == "client:lrs-client"
    assert "x-experience-api-consistent-through" in got.headers
    wrong = await api.client.get(f"{XAPI}/statements", headers=basic("lrs-client", "fout"))
    assert wrong.status_code == 401 and "basic" in wrong.headers["www-authenticate"].lower()
    assert (await api.client.get(f"{XAPI}/statements", headers=V)).status_code == 401
    bearer = api.as_(t, "client:backend")
    no_version = await api.client.get(f"{XAPI}/statements", headers=bearer)
    assert no_version.status_code == 400
    listing = await api.client.get(f"{XAPI}/statements", headers={**bearer, **V})
    assert [s["id"] for s in listing.json()["statements"]] == [statement_id]
    about = await api.client.get(f"{XAPI}/about")
    assert about.status_code == 200 and "2.0.0" in about.json()["version"]


async def test_bad_statements_get_the_prescribed_status(api: Api, two_tenants: TwoTenants) -> None:
    headers = {**api.as_(two_tenants.a, "client:backend"), **V}
    url = f"{XAPI}/statements"
    good = statement({"mbox": "mailto:a@example.org"})
    no_verb = {k: v for k, v in good.items() if k != "verb"}
    assert (await api.client.post(url, json=no_verb, headers=headers)).status_code == 400
    bad_id = {**good, "id": "niet-een-uuid"}
    assert (await api.client.post(url, json=bad_id, headers=headers)).status_code == 400
    two_ifis = {**good, "actor": {"mbox": "mailto:a@example.org", "openid": "http://x.org/a"}}
    assert (await api.client.post(url, json=two_ifis, headers=headers)).status_code == 400
    extra = {**good, "kleur": "blauw"}
    assert (await api.client.post(url, json=extra, headers=headers)).status_code == 400
    assert (await api.client.get(f"{url}?foo=bar", headers=headers)).status_code == 400
    sid = str(uuid.uuid4())
    first = await api.client.put(f"{url}?statementId={sid}", json=good, headers=headers)
    again = await api.client.put(f"{url}?statementId={sid}", json=good, headers=headers)
    assert first.status_code == again.status_code == 204
    other = {**good, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}}
    conflict = await api.client.put(f"{url}?statementId={sid}", json=other, headers=headers)
    assert conflict.status_code == 409
    batch = [{**good, "id": sid}, {**good, "verb": {"id": "http://example.org/v/x"}}]
    rejected = await api.client.post(url, json=[{**batch[1]}, {**good, "id": "x"}], headers=headers)
    assert rejected.status_code == 400
    stored = (await api.client.get(url, headers=headers)).json()["statements"]
    assert [s["id"] for s in stored] == [sid]  # one copy; nothing of the rejected batch
    resent = await api.client.post(url, json=batch, headers=headers)
    assert resent.status_code == 200
    assert len((await api.client.get(url, headers=headers)).json()["statements"]) == 2


async def test_voiding_hides_a_statement(api: Api, two_tenants: TwoTenants) -> None:
    headers = {**api.as_(two_tenants.a, "client:backend"), **V}
    url = f"{XAPI}/statements"
    (sid,) = (
        await api.client.post(url, json=statement({"mbox": "mailto:a@b.org"}), headers=headers)
    ).json()
    voiding = {
        "actor": {"mbox": "mailto:a@b.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": sid},
    }
    (void_id,) = (await api.client.post(url, json=voiding, headers=headers)).json()
    assert (await api.client.get(f"{url}?statementId={sid}", headers=headers)).status_code == 404
    voided = await api.client.get(f"{url}?voidedStatementId={sid}", headers=headers)
    assert voided.status_code == 200
    ids = [s["id"] for s in (await api.client.get(url, headers=headers)).json()["statements"]]
    assert ids == [void_id]
    again = {**voiding, "object": {"objectType": "StatementRef", "id": void_id}}
    assert (await api.client.post(url, json=again, headers=headers)).status_code == 400


async def test_a_person_reads_and_writes_their_own_statements_only(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    me = {**api.resident(t, "r-1"), **V}
    other = {**api.resident(t, "r-2"), **V}
    url = f"{XAPI}/statements"
    mine = await api.client.post(url, json=statement(account("r-1")), headers=me)
    assert mine.status_code == 200, mine.text
    not_me = await api.client.post(url, json=statement(account("r-2")), headers=me)
    assert not_me.status_code == 403
    (sid,) = mine.json()
    assert (await api.client.get(f"{url}?statementId={sid}", headers=other)).status_code == 404
    assert (await api.client.get(url, headers=other)).json()["statements"] == []
    # Tenant B finds nothing and cannot write into tenant A.
    b = {**api.as_(two_tenants.b, "client:backend"), **V}
    assert (await api.client.get(f"{url}?statementId={sid}", headers=b)).status_code == 404
    conflict = await api.client.put(
        f"{url}?statementId={sid}", json=statement({"mbox": "mailto:x@y.org"}), headers=b
    )
    assert conflict.status_code == 204  # B's own database: A's statement is untouched
    still = await api.client.get(f"{url}?statementId={sid}", headers=me)
    assert still.json()["actor"]["account"]["name"] == "r-1"
    # A machine client of the tenant reads them; each resident's record read is logged.
    client = {**api.as_(t, "client:app", **{"welzijn-a": ["service"]}), **V}
    seen = await api.client.get(url, headers=client)
    assert [s["id"] for s in seen.json()["statements"]] == [sid]
    logged = await api.wait_for_event_in(t, "access", "recorded")
    assert [(e["data"]["resident"], e["data"]["on_behalf_of"]) for e in logged] == [
        ("r-1", "welzijn-a")
    ]


async def test_filters_and_more_paging(api: Api, two_tenants: TwoTenants) -> None:
    headers = {**api.as_(two_tenants.a, "client:backend"), **V}
    url = f"{XAPI}/statements"
    actor = {"mbox": "mailto:p@example.org"}
    batch = [statement(actor, f"http://example.org/a/{n % 2}") for n in range(5)]
    assert (await api.client.post(url, json=batch, headers=headers)).status_code == 200
    await api.client.post(url, json=statement({"mbox": "mailto:q@example.org"}), headers=headers)
    agent = '{"mbox": "mailto:p@example.org"}'
    found: list[str] = []
    page = await api.client.get(
        url,
        params={"agent": agent, "activity": "http://example.org/a/0", "limit": "2"},
        headers=headers,
    )
    while True:
        body = page.json()
        found.extend(s["id"] for s in body["statements"])
        if not body["more"]:
            break
        page = await api.client.get(body["more"], headers=headers)
    assert len(found) == len(set(found)) == 3
    ids = await api.client.get(url, params={"format": "ids", "limit": "1"}, headers=headers)
    assert ids.json()["statements"][0]["object"] == {"id": "http://example.org/a/1"}
    activity = await api.client.get(
        f"{XAPI}/activities", params={"activityId": "http://example.org/a/0"}, headers=headers
    )
    assert activity.json()["definition"]["name"] == {"nl": "Koffieochtend"}


async def test_documents_need_the_right_etag(api: Api, two_tenants: TwoTenants) -> None:
    headers = {**api.as_(two_tenants.a, "client:backend"), **V}
    params = {
        "activityId": "http://example.org/a/1",
        "agent": '{"mbox": "mailto:p@example.org"}',
        "stateId": "voortgang",
    }
    url = f"{XAPI}/activities/state"
    first = await api.client.post(url, params=params, json={"stap": 1}, headers=headers)
    assert first.status_code == 204
    merged = await api.client.post(url, params=params, json={"klaar": False}, headers=headers)
    assert merged.status_code == 204
    got = await api.client.get(url, params=params, headers=headers)
    assert got.json() == {"stap": 1, "klaar": False}
    etag = got.headers["etag"]
    blind = await api.client.put(url, params=params, json={"stap": 2}, headers=headers)
    assert blind.status_code == 409
    stale = await api.client.put(
        url, params=params, json={"stap": 2}, headers={**headers, "If-Match": '"oud"'}
    )
    assert stale.status_code == 412
    fresh = await api.client.put(
        url, params=params, json={"stap": 2}, headers={**headers, "If-Match": etag}
    )
    assert fresh.status_code == 204
    listing = await api.client.get(
        url, params={k: v for k, v in params.items() if k != "stateId"}, headers=headers
    )
    assert listing.json() == ["voortgang"]


async def test_erasure_removes_the_persons_learning_records(
    api: Api, two_tenants: TwoTenants, mongo_url: str
) -> None:
    t = two_tenants.a
    me = {**api.resident(t, PERSON), **V}
    await api.client.post(f"{XAPI}/statements", json=statement(account(PERSON)), headers=me)
    state = {
        "activityId": "http://example.org/a/1",
        "agent": f'{{"account": {{"homePage": "{TEST_ISSUER_URL}", "name": "{PERSON}"}}}}',
        "stateId": "s",
    }
    saved = await api.client.post(
        f"{XAPI}/activities/state", params=state, json={"x": 1}, headers=me
    )
    assert saved.status_code == 204, saved.text
    await api.publish(
        new_event(PersonErasureRequested(person_id=PERSON), tenant=t, subject=PERSON, actor=PERSON)
    )
    answer = (await api.wait_for_event(t, "person_data_erased"))[0]["data"]
    assert answer["erased"]["statements"] == 2  # the statement and the state document
    found = await privacy_scan.scan_databases(mongo_url, t, PERSON)
    assert [r for r in found if r.database.startswith("wk_learning_paths_")] == []
