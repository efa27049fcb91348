"""A resident fills in every shipped instrument through the API; results; bad input."""

from __future__ import annotations

from typing import Any

import pytest
from questionnaires.domain.catalog import shipped_instrument, shipped_instruments

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"
SHIPPED = [d.id for d in shipped_instruments()]
PARAMS: dict[str, dict[str, str]] = {"technology-acceptance": {"tool": "Wijkkracht-app"}}


async def test_resident_fills_in_every_shipped_instrument(qs: Any) -> None:
    me = qs.resident()
    listed = (await qs.client.get(f"{P}/instruments?limit=100", headers=me)).json()["items"]
    assert {i["id"] for i in listed} >= set(SHIPPED)
    assert all(i["status"] == "published" and i["shipped"] for i in listed)
    for instrument_id in SHIPPED:
        definition = shipped_instrument(instrument_id)
        started = await qs.start(me, instrument_id, params=PARAMS.get(instrument_id, {}))
        assert started["status"] == "in_progress" and started["version"] == definition.version
        # Partial save, then resume: the answers so far come back.
        first = definition.groups[0].items[0]
        value = (
            3
            if first.answer_type == "scale_0_10"
            else (first.options[0].code if first.options else True)
        )
        r = await qs.client.patch(
            f"{P}/responses/{started['id']}",
            json={"answers": {first.link_id: {"value": value}}},
            headers=me,
        )
        assert r.status_code == 200, r.text
        resumed = (await qs.client.get(f"{P}/responses/{started['id']}", headers=me)).json()
        assert resumed["answers"][first.link_id]["value"] == value
        submitted = await qs.client.post(
            f"{P}/responses/{started['id']}/submit",
            json={"answers": _answers(qs, instrument_id)},
            headers=me,
        )
        assert submitted.status_code == 200, submitted.text
        body = submitted.json()
        assert body["status"] == "submitted" and body["result"]["dimension_scores"]
        chart = await qs.client.get(f"{P}/responses/{started['id']}/chart.svg", headers=me)
        if instrument_id == "client-satisfaction":  # one dimension: no spider web
            assert chart.status_code == 404
            assert chart.headers["content-type"].startswith("application/problem+json")
        else:
            assert chart.status_code == 200, chart.text
            assert chart.headers["content-type"].startswith("image/svg+xml")
            assert chart.text.startswith("<svg") and 'role="img"' in chart.text
        talk = (await qs.client.get(f"{P}/responses/{started['id']}/talk-about", headers=me)).json()
        assert len(talk["items"]) == (1 if any(i.discussable for i in definition.items()) else 0)
        page = await qs.client.get(f"{P}/responses/{started['id']}/printable?lang=en", headers=me)
        assert page.status_code == 200 and page.text.startswith("<!DOCTYPE html>")
    events = await qs.wait_events("response_submitted", count=len(SHIPPED))
    purposes = {e["data"]["instrument_id"]: e["data"]["purpose"] for e in events}
    assert purposes["health-short"] == "self_assessment"
    assert purposes["effect-monitor"] == "measurement"
    assert purposes["self-sufficiency-matrix"] == "measurement"
    assert purposes["client-satisfaction"] == "survey"
    assert all(e["data"]["person_id"] == "person-r1" for e in events)
    mine = (await qs.client.get(f"{P}/responses?limit=100", headers=me)).json()["items"]
    assert len(mine) == len(SHIPPED) and "answers" not in mine[0]


def _answers(qs: Any, instrument_id: str, pick: int = 5) -> dict[str, Any]:
    """Every item answered, the first discussable one marked "talk about this"."""
    return qs.answers(instrument_id, pick)


async def test_trend_overlay_of_two_moments(qs: Any) -> None:
    me = qs.resident()
    first = await qs.fill_and_submit(me, "health-short", pick=3)
    second = await qs.fill_and_submit(me, "health-short", pick=8)
    r = await qs.client.get(
        f"{P}/responses/{second['id']}/chart.svg?compare_with={first['id']}&lang=en", headers=me
    )
    assert r.status_code == 200
    assert r.text.count("<polygon") >= 5 + 2  # 5 rings + two series
    other = await qs.fill_and_submit(me, "effect-monitor")
    r = await qs.client.get(
        f"{P}/responses/{second['id']}/chart.svg?compare_with={other['id']}", headers=me
    )
    assert r.status_code == 422


async def test_bad_answers_are_422_per_item(qs: Any) -> None:
    me = qs.resident()
    started = await qs.start(me, "health-short")
    url = f"{P}/responses/{started['id']}"
    r = await qs.client.patch(
        url,
        json={
            "answers": {
                "nope": {"value": 1},  # unknown item
                "bf-1": {"value": 11},  # out of range
                "bf-2": {"value": "vijf"},  # wrong type
            }
        },
        headers=me,
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    codes = {e["link_id"]: e["code"] for e in problem["errors"]}
    assert codes == {"nope": "unknown_item", "bf-1": "out_of_range", "bf-2": "wrong_type"}
    assert " / " in problem["errors"][0]["message"]  # Dutch / English
    # Shape errors (not an answer object at all) are 422 too, never 500.
    r = await qs.client.patch(url, json={"answers": {"bf-1": {"value": {"x": 1}}}}, headers=me)
    assert r.status_code == 422
    r = await qs.client.patch(url, json={"answers": "x"}, headers=me)
    assert r.status_code == 422
    # Incomplete submit: every missing required item is listed.
    r = await qs.client.post(f"{url}/submit", headers=me)
    assert r.status_code == 422 and {e["code"] for e in r.json()["errors"]} == {"required"}


async def test_answer_to_disabled_item(qs: Any) -> None:
    me = qs.resident()
    definition = shipped_instrument("effect-monitor")
    gated = next(i for i in definition.items() if i.enable_when)
    gate = gated.enable_when[0]
    started = await qs.start(me, "effect-monitor")
    url = f"{P}/responses/{started['id']}"
    # Gate answered the other way: the follow-up item is disabled.
    gate_item = definition.item(gate.question)
    assert gate_item is not None
    off: Any = (
        (not gate.answer)
        if gate_item.answer_type == "yes_no"
        else next(o.code for o in gate_item.options if o.code != gate.answer)
    )
    value = gated.options[0].code if gated.options else 1
    r = await qs.client.patch(
        url,
        json={"answers": {gate.question: {"value": off}, gated.link_id: {"value": value}}},
        headers=me,
    )
    assert r.status_code == 422, r.text
    assert {e["link_id"]: e["code"] for e in r.json()["errors"]} == {gated.link_id: "disabled_item"}


async def test_submit_once_and_idempotent_retry(qs: Any) -> None:
    me = qs.resident()
    started = await qs.start(me, "health-short")
    url = f"{P}/responses/{started['id']}/submit"
    body = {"answers": _answers(qs, "health-short")}
    key = {"Idempotency-Key": "submit-1"}
    first = await qs.client.post(url, json=body, headers={**me, **key})
    assert first.status_code == 200
    retry = await qs.client.post(url, json=body, headers={**me, **key})
    assert retry.status_code == 200 and retry.json() == first.json()
    assert retry.headers.get("idempotent-replay") == "true"
    again = await qs.client.post(url, json=body, headers=me)
    assert again.status_code == 409
    assert again.json()["type"].endswith("response-submitted")
    # Submitted responses are immutable.
    r = await qs.client.patch(
        f"{P}/responses/{started['id']}", json={"answers": {"bf-1": {"value": 1}}}, headers=me
    )
    assert r.status_code == 409
    await qs.wait_events("response_submitted")
    events = await qs.events("response_submitted", settle=1.0)
    assert [e["data"]["response_id"] for e in events] == [started["id"]]


async def test_tenant_b_sees_nothing_of_tenant_a(qs: Any) -> None:
    me_a = qs.resident("person-x")
    me_b = qs.resident("person-x", tenant=qs.tenants.b)  # same subject, other tenant
    done = await qs.fill_and_submit(me_a, "health-short")
    for path in ("", "/chart.svg", "/talk-about", "/printable", "/fhir"):
        r = await qs.client.get(f"{P}/responses/{done['id']}{path}", headers=me_b)
        assert r.status_code == 404, path
    r = await qs.client.post(f"{P}/responses/{done['id']}/submit", headers=me_b)
    assert r.status_code == 404
    assert (await qs.client.get(f"{P}/responses", headers=me_b)).json()["items"] == []
    # Another resident of the same tenant does not see it either.
    other = qs.resident("person-y")
    assert (await qs.client.get(f"{P}/responses/{done['id']}", headers=other)).status_code == 404


async def test_authentication_is_required(qs: Any) -> None:
    r = await qs.client.get(f"{P}/instruments")
    assert r.status_code == 401 and r.json()["status"] == 401
    r = await qs.client.get(f"{P}/instruments", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_a_response_with_the_residents_earlier_one_of_the_same_family(qs: Any) -> None:
    """`include=earlier` gives the resident's previous submitted response of the family (the
    trend the portal overlays) in the same call; only to the resident themself."""
    me = qs.resident("person-r1")
    first = await qs.fill_and_submit(me, "health-short", pick=3)
    await qs.fill_and_submit(me, "self-sufficiency-matrix")  # another family
    second = await qs.fill_and_submit(me, "health-full", pick=7)  # same family, other variant
    await qs.start(me, "health-short")  # in progress: not a measurement yet

    async def earlier_of(response_id: str, headers: dict[str, str]) -> Any:
        r = await qs.client.get(
            f"{P}/responses/{response_id}", params={"include": "earlier"}, headers=headers
        )
        return r

    r = await earlier_of(second["id"], me)
    assert r.status_code == 200, r.text
    earlier = r.json()["earlier"]
    assert earlier["id"] == first["id"] and "answers" not in earlier
    assert earlier["result"] == first["result"]
    assert (await earlier_of(first["id"], me)).json()["earlier"] is None
    plain = await qs.client.get(f"{P}/responses/{second['id']}", headers=me)
    assert "earlier" not in plain.json()

    # Someone else's response stays unknown; a professional who may read it (assisted mode)
    # gets the response one at a time, not the resident's other measurements this way.
    assert (await earlier_of(second["id"], qs.resident("person-r9"))).status_code == 404
    pro = qs.professional("person-p1", org="de-smd")
    assisted = await qs.fill_and_submit(
        pro, "health-short", person_id="person-r1", organisation="de-smd"
    )
    refused = await earlier_of(assisted["id"], pro)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("own-responses-only")
    bad = await qs.client.get(
        f"{P}/responses/{second['id']}", params={"include": "everything"}, headers=me
    )
    assert bad.status_code == 422
