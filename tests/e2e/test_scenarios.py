"""The issues' acceptance stories across services, through HTTP only, on the platform as
`make run` starts it (processes, embedded NATS and database, demo tenant seeded)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from .conftest import Platform, launch, login

pytestmark = pytest.mark.e2e

IDENTITY, QUESTIONNAIRES, SOCIAL_MAP, EFFECTS = 1, 2, 5, 6
T = TypeVar("T")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # Follow-ups fall due seconds (not months) after the baseline, to close the loop here.
    env = {"WK_FOLLOWUP_AFTER_SECONDS": "4", "WK_FOLLOWUP_SCAN_SECONDS": "0.5"}
    # Two replicas of every service (issue 11): each request goes to the next one.
    with launch(tmp_path_factory.mktemp("scenarios"), env, replicas=2) as running:
        yield running


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 120.0) -> T:
    """Events travel asynchronously between services: poll until `probe` has a result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def answers_for(
    definition: dict[str, Any], pick: Callable[[dict[str, Any]], Any]
) -> dict[str, Any]:
    """An answer for every item, `pick(item)` choosing the value."""
    return {
        item["link_id"]: {"value": pick(item)}
        for group in definition["groups"]
        for item in group["items"]
    }


def fill_in(
    platform: Platform,
    token: str,
    instrument_id: str,
    pick: Callable[[dict[str, Any]], Any],
    **start: Any,
) -> dict[str, Any]:
    with httpx.Client(timeout=15, headers=bearer(token)) as http:
        definition = http.get(
            platform.api(QUESTIONNAIRES, f"/instruments/{instrument_id}"), params={"format": "json"}
        ).json()["definition"]
        started = http.post(
            platform.api(QUESTIONNAIRES, "/responses"),
            json={"instrument_id": instrument_id, **start},
        )
        assert started.status_code == 201, started.text
        submitted = http.post(
            platform.api(QUESTIONNAIRES, f"/responses/{started.json()['id']}/submit"),
            json={"answers": answers_for(definition, pick)},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert submitted.status_code == 200, submitted.text
        return dict(submitted.json())


def register_resident(platform: Platform, *, pc4: str, birth_year: int) -> tuple[str, str]:
    email = f"inwoner-{uuid.uuid4().hex[:8]}@demo.test"
    password = "Wandelen-met-Jet-1960"
    registered = httpx.post(
        platform.api(IDENTITY, "/registrations"),
        json={
            "client_id": "demo-frontend",
            "display_name": "Piet",
            "email": email,
            "password": password,
            "pc4": pc4,
            "birth_year": birth_year,
            "household_type": "single",
        },
        timeout=15,
    )
    assert registered.status_code == 201, registered.text
    return email, password


def test_piet_finds_the_walking_group_through_the_whole_platform(platform: Platform) -> None:
    """Issue 5's story across identity → questionnaires → social map: Piet, 66, recently
    widowed, registers with the PC4 of Oeverhoek, fills in the short health self-assessment
    with a low participation score, and the walking group nearby comes first."""
    email, password = register_resident(platform, pc4="9903", birth_year=1960)
    token = login(platform, email, password)
    me = httpx.get(platform.api(IDENTITY, "/me"), headers=bearer(token), timeout=10).json()
    assert me["neighbourhood_code"] == "DM01"

    def low_participation(item: dict[str, Any]) -> int:
        score = 2 if item.get("dimension") == "participation" else 7
        return 10 - score if item.get("reverse_scored") else score

    result = fill_in(platform, token, "health-short", low_participation)
    scores = {d["dimension"]: d["score"] for d in result["result"]["dimension_scores"]}
    assert scores["participation"] < 4 < scores["bodily_functions"]
    chart = httpx.get(
        platform.api(QUESTIONNAIRES, f"/responses/{result['id']}/chart.svg"),
        headers=bearer(token),
        timeout=10,
    )
    assert chart.status_code == 200 and chart.text.lstrip().startswith("<svg")

    def recommendations() -> list[dict[str, Any]] | None:
        got = httpx.get(
            platform.api(SOCIAL_MAP, "/recommendations"),
            params={"response_id": result["id"]},
            headers=bearer(token),
            timeout=10,
        )
        return got.json()["items"] if got.status_code == 200 and got.json()["items"] else None

    items = eventually(recommendations, "recommendations for Piet's response")
    first = items[0]
    assert "Wandelgroep De Stappers" in str(first), first


def test_measure_act_remeasure_loop(platform: Platform) -> None:
    """Issue 4's loop across questionnaires ⇄ effect measurement: a professional invites the
    resident to the effect monitor, the baseline opens a trajectory, the follow-up falls due,
    questionnaires turns it into an invitation, the follow-up shows the change — and the
    professional sees the trajectory only after the resident's consent."""
    resident = login(platform, "inwoner@demo.test")
    professional = login(platform, "sociaalwerker@demo.test")
    person_id = httpx.get(
        platform.api(IDENTITY, "/me"), headers=bearer(resident), timeout=10
    ).json()["id"]

    invited = httpx.post(
        platform.api(QUESTIONNAIRES, "/invitations"),
        headers={**bearer(professional), "Idempotency-Key": str(uuid.uuid4())},
        json={
            "organisation": "welzijn-demo",
            "instrument_id": "effect-monitor",
            "person_id": person_id,
        },
        timeout=10,
    )
    assert invited.status_code == 201, invited.text

    def phase(code: str) -> Callable[[dict[str, Any]], Any]:
        return lambda item: True if item["answer_type"] == "yes_no" else code

    fill_in(platform, resident, "effect-monitor", phase("1"), invitation_id=invited.json()["id"])

    def trajectories() -> list[dict[str, Any]] | None:
        got = httpx.get(
            platform.api(EFFECTS, "/me/trajectories"), headers=bearer(resident), timeout=10
        )
        return got.json()["items"] if got.status_code == 200 and got.json()["items"] else None

    eventually(trajectories, "a trajectory from the baseline")

    def followup_invitation() -> dict[str, Any] | None:
        got = httpx.get(
            platform.api(QUESTIONNAIRES, "/me/invitations"), headers=bearer(resident), timeout=10
        ).json()["items"]
        return next((i for i in got if i.get("followup_of")), None)

    followup = eventually(followup_invitation, "the follow-up invitation (followup_due)")
    fill_in(platform, resident, "effect-monitor", phase("5"), invitation_id=followup["id"])

    def improved() -> list[dict[str, Any]] | None:
        items = trajectories() or []
        return [t for t in items if "improved" in str(t)] or None

    changed = eventually(improved, "the follow-up's change in the trajectory")
    assert changed

    people = platform.api(EFFECTS, f"/people/{person_id}/trajectories")
    assert httpx.get(people, headers=bearer(professional), timeout=10).status_code == 404
    consent = httpx.post(
        platform.api(IDENTITY, "/me/consents"),
        headers=bearer(resident),
        json={"organisation": "welzijn-demo", "purpose": "share_results"},
        timeout=10,
    )
    assert consent.status_code in (200, 201), consent.text

    def professional_view() -> list[dict[str, Any]] | None:
        got = httpx.get(people, headers=bearer(professional), timeout=10)
        return got.json()["items"] if got.status_code == 200 else None

    assert eventually(professional_view, "the professional's consented view")
    log = httpx.get(platform.api(IDENTITY, "/me/access-log"), headers=bearer(resident), timeout=10)

    def logged() -> bool:
        entries = httpx.get(
            platform.api(IDENTITY, "/me/access-log"), headers=bearer(resident), timeout=10
        ).json()["items"]
        return any(e.get("service") == "effect_measurement" for e in entries)

    assert log.status_code == 200
    assert eventually(logged, "the professional's read in the resident's access log")


def test_analyst_sees_only_suppressed_aggregates_of_the_demo_tenant(platform: Platform) -> None:
    analyst = login(platform, "analist@demo.test")
    got = httpx.get(
        platform.api(EFFECTS, "/aggregates"),
        headers=bearer(analyst),
        params={"family": "effect-monitor", "period": "2026"},
        timeout=30,
    )
    assert got.status_code == 200, got.text
    body = got.text
    assert "person" not in body.lower() or "person_id" not in body
    report = got.json()["items"][0]
    assert report["rows"], "the demo tenant publishes figures"
    assert "suppressed" in body, "small cells are suppressed"
    resident = login(platform, "inwoner@demo.test")
    assert httpx.get(
        platform.api(EFFECTS, "/aggregates"),
        headers=bearer(resident),
        params={"family": "effect-monitor", "period": "2026"},
        timeout=10,
    ).status_code in (403, 404)


def test_erasure_reaches_every_service_and_completes(platform: Platform) -> None:
    """A resident's right to erasure across services: identity asks, questionnaires, effect
    measurement and social map erase and confirm with counts, identity then erases itself."""
    email, password = register_resident(platform, pc4="9905", birth_year=1971)
    token = login(platform, email, password)
    person_id = httpx.get(platform.api(IDENTITY, "/me"), headers=bearer(token), timeout=10).json()[
        "id"
    ]
    response = fill_in(platform, token, "health-short", lambda item: 5)

    requested = httpx.post(platform.api(IDENTITY, "/me/erasure"), headers=bearer(token), timeout=10)
    assert requested.status_code in (200, 201, 202), requested.text
    admin = login(platform, "beheer@demo.test")

    def completed() -> dict[str, Any] | None:
        got = httpx.get(
            platform.api(IDENTITY, f"/people/{person_id}/erasure"),
            headers=bearer(admin),
            timeout=10,
        )
        body = got.json() if got.status_code == 200 else {}
        return body if body.get("status") == "completed" else None

    status = eventually(completed, "every service's confirmation of the erasure", timeout=60)
    confirmed = str(status)
    for service in ("questionnaires", "effect_measurement", "social_map"):
        assert service in confirmed, status
    # The response is no longer the person's: its owner cannot be found through it.
    after = httpx.get(
        platform.api(QUESTIONNAIRES, f"/responses/{response['id']}"),
        headers=bearer(admin),
        timeout=10,
    )
    assert after.status_code in (403, 404)
