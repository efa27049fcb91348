"""Issue 12's "Done when", through the running platform (`make run`), over HTTP only:
a resident's measurement places them at the matching step of the demo long path "Grip op je
geld" (not aware → step 1, aware → step 3); a professional assigns a module as homework, the
resident completes it; the professional sees the progress only with the resident's
`share_learning_progress` consent (404 before); effect measurement shows the completion as
an intervention on the resident's trajectory (`module_<theme>`): in the resident's own
trajectory view, in the professional's once the resident shares results too (a completed
module needs both consents there), and in the resident's export."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from .conftest import Platform, launch, login
from .test_scenarios import bearer, eventually, fill_in, register_resident

pytestmark = pytest.mark.e2e

IDENTITY, QUESTIONNAIRES, LEARNING, EFFECTS = 1, 2, 3, 6
ORGANISATION = "welzijn-demo"
MODULE = "contact-maken"  # theme loneliness
PATH = "grip-op-geld"  # entry points by the household_budget phase


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {"WK_EXPORT_ASSEMBLY_SCAN_SECONDS": "2"}
    # Two replicas of every service (issue 11): each request goes to the next one.
    with launch(tmp_path_factory.mktemp("learning"), env, replicas=2) as running:
        yield running


def lp(platform: Platform, path: str) -> str:
    url: str = platform.url(LEARNING, "/learning-paths/v1" + path)
    return url


def person_of(platform: Platform, token: str) -> str:
    me = httpx.get(platform.api(IDENTITY, "/me"), headers=bearer(token), timeout=10)
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


def content_id(platform: Platform, token: str, kind: str, slug: str) -> str:
    listed = httpx.get(
        lp(platform, f"/{kind}"), params={"limit": 100}, headers=bearer(token), timeout=10
    )
    assert listed.status_code == 200, listed.text
    return next(str(c["id"]) for c in listed.json()["items"] if c["slug"] == slug)


def measure_phase(platform: Platform, professional: str, resident: str, phase: str) -> None:
    """The professional invites the resident to the effect monitor; every phase question is
    answered with `phase` (1 = not aware of it yet, 2 = aware)."""
    invited = httpx.post(
        platform.api(QUESTIONNAIRES, "/invitations"),
        headers={**bearer(professional), "Idempotency-Key": str(uuid.uuid4())},
        json={
            "organisation": ORGANISATION,
            "instrument_id": "effect-monitor",
            "person_id": person_of(platform, resident),
        },
        timeout=10,
    )
    assert invited.status_code == 201, invited.text
    fill_in(
        platform,
        resident,
        "effect-monitor",
        lambda item: True if item["answer_type"] == "yes_no" else phase,
        invitation_id=invited.json()["id"],
    )


def placement_in(platform: Platform, token: str, path_id: str) -> dict[str, Any]:
    def placed() -> dict[str, Any] | None:
        got = httpx.get(lp(platform, "/me/placements"), headers=bearer(token), timeout=10)
        assert got.status_code == 200, got.text
        return next((p for p in got.json()["items"] if p["path_id"] == path_id), None)

    found: dict[str, Any] = eventually(placed, "the resident's placement on the long path")
    return found


def give_consent(platform: Platform, token: str, purpose: str) -> None:
    """The resident allows `ORGANISATION` `purpose`."""
    consent = httpx.post(
        platform.api(IDENTITY, "/me/consents"),
        headers=bearer(token),
        json={"organisation": ORGANISATION, "purpose": purpose},
        timeout=10,
    )
    assert consent.status_code in (200, 201), consent.text


ANSWERS: dict[str, dict[str, Any]] = {
    "exercise": {"text": "Mijn buurvrouw en de man van de bakker."},
    "plan": {"plan": {"1": "Woensdag naar de koffieochtend."}},
    "checklist": {"checked": [1]},
}


def complete_all(platform: Platform, token: str, enrolment: dict[str, Any]) -> dict[str, Any]:
    """Every required step, answered where its kind asks for an answer, then completed."""
    base = lp(platform, f"/enrolments/{enrolment['id']}/steps")
    done: dict[str, Any] = {}
    with httpx.Client(timeout=15, headers=bearer(token)) as http:
        for step in enrolment["required_steps"]:
            shown = http.get(f"{base}/{step}")
            assert shown.status_code == 200, shown.text
            answer = ANSWERS.get(shown.json()["step"]["kind"])
            if answer is not None:
                saved = http.put(f"{base}/{step}/answer", json=answer)
                assert saved.status_code == 200, saved.text
            completed = http.post(f"{base}/{step}/complete")
            assert completed.status_code == 200, completed.text
            done = completed.json()
    return done


def test_the_learning_loop_through_the_platform(platform: Platform) -> None:
    professional = login(platform, "sociaalwerker@demo.test")
    unaware = login(platform, "inwoner@demo.test")
    email, password = register_resident(platform, pc4="9903", birth_year=1975)
    aware = login(platform, email, password)
    path_id = content_id(platform, unaware, "paths", PATH)

    # 1. The measured phase places each resident at the matching step of the long path.
    measure_phase(platform, professional, unaware, "1")
    measure_phase(platform, professional, aware, "2")
    first = placement_in(platform, unaware, path_id)
    assert (first["item"], first["entry_point"], first["step_id"]) == (
        1,
        "niet-bewust",
        "hoe-gaat-het",
    ), first
    third = placement_in(platform, aware, path_id)
    assert (third["item"], third["entry_point"]) == (3, "bewust"), third
    assert first["reason"] and third["reason"]  # the reason in plain words

    # 2. The professional assigns a module as homework.
    module_id = content_id(platform, professional, "modules", MODULE)
    resident_id = person_of(platform, unaware)
    assigned = httpx.post(
        lp(platform, f"/organisations/{ORGANISATION}/assignments"),
        headers={**bearer(professional), "Idempotency-Key": str(uuid.uuid4())},
        json={
            "person_id": resident_id,
            "content_id": module_id,
            "due_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "note": "Kijk eens wat er bij u in de buurt is.",
        },
        timeout=10,
    )
    assert assigned.status_code == 201, assigned.text
    homework = assigned.json()

    # 3. The resident finds the homework and completes it.
    mine = httpx.get(lp(platform, "/me/enrolments"), headers=bearer(unaware), timeout=10)
    assert homework["id"] in [e["id"] for e in mine.json()["items"]]
    finished = complete_all(platform, unaware, homework)
    assert finished["status"] == "completed", finished

    # 4. Progress only with the resident's consent for the organisation.
    progress = lp(platform, f"/organisations/{ORGANISATION}/residents/{resident_id}/progress")
    hidden = httpx.get(progress, headers=bearer(professional), timeout=10)
    assert hidden.status_code == 404, hidden.text
    give_consent(platform, unaware, "share_learning_progress")

    def visible() -> dict[str, Any] | None:
        got = httpx.get(progress, headers=bearer(professional), timeout=10)
        return got.json() if got.status_code == 200 else None

    shown = eventually(visible, "the professional's consented view of the progress")
    row = next(r for r in shown["enrolments"] if r["enrolment_id"] == homework["id"])
    assert row["status"] == "completed"
    assert row["progress"]["completed"] == row["progress"]["required"] > 0
    assert "buurvrouw" not in json.dumps(shown)  # the exercise was not shared

    def logged() -> bool:
        entries = httpx.get(
            platform.api(IDENTITY, "/me/access-log"), headers=bearer(unaware), timeout=10
        ).json()["items"]
        return any(e.get("service") == "learning_paths" for e in entries)

    assert eventually(logged, "the professional's view in the resident's access log")

    # 5. Effect measurement shows the completion as an intervention on the trajectory.
    completion = f"learning_paths:{homework['id']}"

    def in_trajectory(url: str, token: str) -> dict[str, Any] | None:
        got = httpx.get(url, headers=bearer(token), timeout=10)
        if got.status_code != 200:
            return None
        shown = [i for t in got.json()["items"] for i in t["interventions"]]
        return next((i for i in shown if i["intervention_id"] == completion), None)

    own = platform.api(EFFECTS, "/me/trajectories")
    mine = eventually(lambda: in_trajectory(own, unaware), "the completion in my trajectory")
    assert (mine["type"], mine["source"]) == ("module_loneliness", "learning_paths"), mine
    assert mine["organisation"] == ORGANISATION and mine["occurred_at"], mine
    # The professional: with `share_results` (to see the trajectory) and the
    # `share_learning_progress` given above (to see a completed module in it).
    shared = platform.api(EFFECTS, f"/people/{resident_id}/trajectories")
    assert in_trajectory(shared, professional) is None
    give_consent(platform, unaware, "share_results")
    theirs = eventually(
        lambda: in_trajectory(shared, professional), "the completion in the professional's view"
    )
    assert theirs == mine, theirs

    # And in the resident's export.
    started = httpx.post(platform.api(IDENTITY, "/me/exports"), headers=bearer(unaware), timeout=10)
    assert started.status_code in (200, 202), started.text
    export_id = started.json()["id"]

    def ready() -> dict[str, Any] | None:
        got = httpx.get(
            platform.api(IDENTITY, f"/me/exports/{export_id}"), headers=bearer(unaware), timeout=10
        ).json()
        return got if got.get("status") == "ready" else None

    job = eventually(ready, "the resident's export")
    archive = httpx.get(
        platform.url(IDENTITY, job["archive_url"]), headers=bearer(unaware), timeout=30
    )
    assert archive.status_code == 200, archive.text
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        effects = json.loads(zipped.read("effect_measurement.json"))
    found = {i["intervention_id"]: i["type"] for i in effects["interventions"]}
    assert found.get(completion) == "module_loneliness", found
    in_export = [i["intervention_id"] for t in effects["trajectories"] for i in t["interventions"]]
    assert completion in in_export, effects  # on the trajectory it belongs to
