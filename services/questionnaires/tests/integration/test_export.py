"""The export contract: identity's `person_export_requested` -> this service's part in the
export bucket (responses, invitations, shares, a FHIR Bundle of QuestionnaireResponses) and
one `person_data_exported` answer, also when the request is delivered twice."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from wijkkracht_common import export
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import ConsentGranted, PersonExportRequested

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def test_export_part_is_stored_once(qs: Any, eventually_: Any) -> None:
    person = str(uuid.uuid4())
    resident = qs.resident(person)
    pro = qs.professional(org="de-smd")
    done = await qs.fill_and_submit(resident, "health-short")
    started = await qs.start(resident, "client-satisfaction")  # in progress
    invited = await qs.client.post(
        f"{P}/invitations",
        json={"organisation": "de-smd", "instrument_id": "effect-monitor", "person_id": person},
        headers=pro,
    )
    assert invited.status_code == 201
    await qs.publish(
        ConsentGranted(person_id=person, organisation_slug="de-smd", purpose="share_results")
    )

    async def viewed() -> bool:
        r = await qs.client.get(f"{P}/responses/{done['id']}", headers=pro)
        return r.status_code == 200

    await eventually_(viewed)  # a share marker (first view by de-smd)
    other = await qs.fill_and_submit(qs.resident("person-someone-else"), "health-short")

    request = new_event(
        PersonExportRequested(export_id=f"exp-{uuid.uuid4().hex[:8]}", person_id=person),
        tenant=qs.tenants.a,
        subject=person,
        actor=person,
    )
    await qs.send(request)
    await qs.send(request, msg_id=f"{request.id}-again")  # delivered twice

    async def drained() -> bool:
        info = await qs.consumer_info("questionnaires__identity_person_export_requested_v1")
        return info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq

    await eventually_(drained)
    [answer] = await qs.wait_events("person_data_exported")
    data = answer["data"]
    assert data["person_id"] == person and data["export_id"] == request.data.export_id
    assert data["counts"] == {"responses": 2, "invitations": 1, "shares": 1, "fhir_resources": 1}
    part = await export.read_part(qs.app.state.runtime.js, data["object_name"])
    assert part["service"] == "questionnaires" and part["person_id"] == person
    by_id = {r["id"]: r for r in part["responses"]}
    assert set(by_id) == {done["id"], started["id"]}
    submitted = by_id[done["id"]]
    assert submitted["instrument_id"] == "health-short" and submitted["version"] == 1
    assert submitted["answers"] and submitted["result"]["dimension_scores"]
    assert submitted["submitted_at"] and submitted["started_at"]
    assert [i["id"] for i in part["invitations"]] == [invited.json()["id"]]
    assert [(s["response_id"], s["shared_with"]) for s in part["shares"]] == [
        (done["id"], "de-smd")
    ]
    bundle = part["fhir"]
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    [entry] = bundle["entry"]
    resource = entry["resource"]
    assert resource["resourceType"] == "QuestionnaireResponse" and resource["id"] == done["id"]
    assert resource["subject"]["reference"] == f"Patient/{person}"
    assert other["id"] not in str(part)  # nobody else's data
