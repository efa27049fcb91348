"""Sharing with professionals through identity's consent events; FHIR export; assisted mode.

Decision: without `share_results` a professional gets 404 (existence is not revealed); with
`share_results` but without `share_with_gp` the FHIR export is 403 (the response is visible,
the export needs the other consent).
"""

from __future__ import annotations

from typing import Any

import pytest
from wijkkracht_common.events.identity import ConsentGranted, ConsentRevoked

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def test_consent_drives_what_a_professional_sees(qs: Any, eventually_: Any) -> None:
    resident = qs.resident("person-r1")
    pro = qs.professional("person-p1", org="de-smd")
    done = await qs.fill_and_submit(resident, "health-short")
    url = f"{P}/responses/{done['id']}"
    assert (await qs.client.get(url, headers=pro)).status_code == 404
    assert (await qs.client.get(f"{url}/chart.svg", headers=pro)).status_code == 404
    r = await qs.client.get(f"{P}/people/person-r1/responses", headers=pro)
    assert r.status_code == 404

    await qs.publish(
        ConsentGranted(person_id="person-r1", organisation_slug="de-smd", purpose="share_results"),
        organisation="de-smd",
    )

    async def visible() -> bool:
        return (await qs.client.get(url, headers=pro)).status_code == 200

    await eventually_(visible)
    chart = await qs.client.get(f"{url}/chart.svg", headers=pro)
    assert chart.status_code == 200 and chart.text.startswith("<svg")
    listed = (await qs.client.get(f"{P}/people/person-r1/responses", headers=pro)).json()
    assert [i["id"] for i in listed["items"]] == [done["id"]]
    # A professional of another organisation still sees nothing.
    other = qs.professional("person-p2", org="andere-org")
    assert (await qs.client.get(url, headers=other)).status_code == 404
    # Every view is access-logged (NEN 7513) and the first view per organisation is shared.
    db = await qs.app.state.ctx.db(qs.tenants.a)
    logs = await db["access_log"].find({"resident": "person-r1"}).to_list(None)
    assert {entry["reason"] for entry in logs} == {"share_results"}
    assert len(logs) >= 3 and all(entry["actor"] == "person-p1" for entry in logs)
    shared = await qs.wait_events("response_shared")
    assert len(shared) == 1 and shared[0]["data"]["shared_with"] == "de-smd"
    # FHIR export needs share_with_gp.
    r = await qs.client.get(f"{url}/fhir", headers=pro)
    assert r.status_code == 403 and r.json()["consent"] == "share_with_gp"
    await qs.publish(
        ConsentGranted(person_id="person-r1", organisation_slug="de-smd", purpose="share_with_gp"),
        organisation="de-smd",
    )

    async def exportable() -> Any:
        r = await qs.client.get(f"{url}/fhir", headers=pro)
        return r if r.status_code == 200 else None

    r = await eventually_(exportable)
    assert r.json()["resourceType"] == "QuestionnaireResponse"
    assert r.headers["content-type"].startswith("application/fhir+json")
    shared = await qs.wait_events("response_shared", count=2)
    assert {e["data"]["format"] for e in shared} == {"view", "fhir_r4"}
    # Revoking ends the view.
    await qs.publish(
        ConsentRevoked(person_id="person-r1", organisation_slug="de-smd", purpose="share_results"),
        organisation="de-smd",
    )

    async def hidden() -> bool:
        return (await qs.client.get(url, headers=pro)).status_code == 404

    await eventually_(hidden)


async def test_resident_exports_own_fhir(qs: Any) -> None:
    resident = qs.resident("person-r3")
    done = await qs.fill_and_submit(resident, "health-short")
    r = await qs.client.get(f"{P}/responses/{done['id']}/fhir", headers=resident)
    assert r.status_code == 200 and r.json()["subject"]["reference"] == "Patient/person-r3"


async def test_assisted_mode(qs: Any) -> None:
    pro = qs.professional("person-p1", org="de-smd")
    started = await qs.start(
        pro, "self-sufficiency-matrix", person_id="person-r2", organisation="de-smd"
    )
    assert started["person_id"] == "person-r2" and started["assisted"] is True
    url = f"{P}/responses/{started['id']}"
    r = await qs.client.post(
        f"{url}/submit", json={"answers": qs.answers("self-sufficiency-matrix")}, headers=pro
    )
    assert r.status_code == 200
    # The resident sees it as their own; the assisting professional too (recorded).
    assert (await qs.client.get(url, headers=qs.resident("person-r2"))).status_code == 200
    assert (await qs.client.get(url, headers=pro)).status_code == 200
    db = await qs.app.state.ctx.db(qs.tenants.a)
    reasons = {e["reason"] async for e in db["access_log"].find({"resident": "person-r2"})}
    assert reasons == {"assisted"}
    events = await qs.wait_events("response_submitted")
    assert events[0]["data"]["assisted"] is True
    assert events[0]["data"]["levels"]  # self-sufficiency levels
    # Assisted mode needs the staff role in the named organisation.
    r = await qs.client.post(
        f"{P}/responses",
        json={"instrument_id": "health-short", "person_id": "person-r2", "organisation": "de-smd"},
        headers=qs.resident("person-r9"),
    )
    assert r.status_code == 403
    r = await qs.client.post(
        f"{P}/responses",
        json={"instrument_id": "health-short", "person_id": "person-r2", "organisation": "andere"},
        headers=pro,
    )
    assert r.status_code == 403
