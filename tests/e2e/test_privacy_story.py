"""Issue 10's story through HTTP only, on the platform as `make run` starts it: a resident
registers, consents, fills in a questionnaire; a professional reads the result (and the
resident's access log says who); the resident downloads one archive with a part of every
service; the resident asks for erasure, and when identity reports it complete,
`wk privacy verify-erasure` finds nothing of the resident in any database or stream.

The steps are separate tests sharing one resident (in file order), so a step that fails
(another service's part missing, say) does not hide what the later steps show. The story runs
twice: on one process per service, and on two replicas of every service (issue 11)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from .conftest import Platform, launch, login

pytestmark = pytest.mark.e2e

IDENTITY, QUESTIONNAIRES = 1, 2
TENANT = "demo"
ORGANISATION = "welzijn-demo"  # the demo front end's organisation: the resident's first
SERVICES = ("questionnaires", "effect_measurement", "social_map", "learning_paths", "marketplace")
T = TypeVar("T")


@pytest.fixture(scope="module", params=[1, 2], ids=["one-process", "two-replicas"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The story on one process per service, then on two replicas of every service (issue
    11): each request goes to the next replica, and both consume the shared streams."""
    # The stream purge and the export assembly run every second or two instead of 10-60 s.
    env = {"WK_ERASURE_PURGE_SCAN_SECONDS": "1", "WK_EXPORT_ASSEMBLY_SCAN_SECONDS": "2"}
    with launch(tmp_path_factory.mktemp("privacy"), env, replicas=request.param) as running:
        started = [line.split()[1] for line in running.output if "✓" in line]
        assert len([s for s in started if "#2" in s]) == (6 if request.param == 2 else 0), started
        yield running


@pytest.fixture(scope="module")
def story(platform: Platform) -> dict[str, Any]:
    """What the steps learn about the resident, in order (one resident per platform)."""
    return {}


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 120.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def resident_of(story: dict[str, Any]) -> tuple[str, str]:
    if "person_id" not in story:
        pytest.skip("the resident was not registered (an earlier step failed)")
    return story["person_id"], story["token"]


def test_1_a_resident_consents_and_a_professional_reads_the_result(
    platform: Platform, story: dict[str, Any]
) -> None:
    email, password = f"privacy-{uuid.uuid4().hex[:8]}@demo.test", "Fietsen-langs-de-Zaan-7"
    registered = httpx.post(
        platform.api(IDENTITY, "/registrations"),
        json={
            "client_id": "demo-frontend",
            "display_name": "Ria Smit",
            "email": email,
            "password": password,
            "pc4": "9905",
            "birth_year": 1958,
        },
        timeout=15,
    )
    assert registered.status_code == 201, registered.text
    token = login(platform, email, password)
    story.update(person_id=registered.json()["id"], token=token)
    consent = httpx.post(
        platform.api(IDENTITY, "/me/consents"),
        headers=bearer(token),
        json={"organisation": ORGANISATION, "purpose": "share_results"},
        timeout=10,
    )
    assert consent.status_code == 201, consent.text

    with httpx.Client(timeout=15, headers=bearer(token)) as http:
        definition = http.get(
            platform.api(QUESTIONNAIRES, "/instruments/health-short"), params={"format": "json"}
        ).json()["definition"]
        started = http.post(
            platform.api(QUESTIONNAIRES, "/responses"), json={"instrument_id": "health-short"}
        )
        assert started.status_code == 201, started.text
        answers = {
            item["link_id"]: {"value": 6}
            for group in definition["groups"]
            for item in group["items"]
        }
        submitted = http.post(
            platform.api(QUESTIONNAIRES, f"/responses/{started.json()['id']}/submit"),
            json={"answers": answers},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert submitted.status_code == 200, submitted.text
    response_id = submitted.json()["id"]
    story["response_id"] = response_id

    professional = login(platform, "sociaalwerker@demo.test")

    def read() -> dict[str, Any] | None:
        got = httpx.get(
            platform.api(QUESTIONNAIRES, f"/responses/{response_id}"),
            headers=bearer(professional),
            timeout=10,
        )
        return got.json() if got.status_code == 200 else None

    eventually(read, "the professional's read of the consented result")

    def logged() -> dict[str, Any] | None:
        items = httpx.get(
            platform.api(IDENTITY, "/me/access-log"), headers=bearer(token), timeout=10
        ).json()["items"]
        return next((i for i in items if i["service"] == "questionnaires"), None)

    line = eventually(logged, "the professional's read in the resident's access log")
    assert line["who"] == "S. Sociaalwerker, sociaal werker", line
    assert line["organisation"] is not None, line
    assert line["organisation"]["slug"] == ORGANISATION, line
    assert line["why"] and line["what"], line


def test_2_the_resident_downloads_everything_in_one_archive(
    platform: Platform, story: dict[str, Any]
) -> None:
    _, token = resident_of(story)
    started = httpx.post(platform.api(IDENTITY, "/me/exports"), headers=bearer(token), timeout=10)
    assert started.status_code == 202, started.text
    export_id = started.json()["id"]
    assert sorted(started.json()["expected_services"]) == sorted(SERVICES)
    again = httpx.post(platform.api(IDENTITY, "/me/exports"), headers=bearer(token), timeout=10)
    if again.status_code == 202:  # a new request once the first is done starts a new export
        first = httpx.get(
            platform.api(IDENTITY, f"/me/exports/{export_id}"), headers=bearer(token), timeout=10
        )
        assert first.json()["status"] == "ready", (again.json(), first.json())
    else:  # while it runs, the same export
        assert again.status_code == 200 and again.json()["id"] == export_id, again.text

    last: dict[str, Any] = {}

    def ready() -> dict[str, Any] | None:
        got = httpx.get(
            platform.api(IDENTITY, f"/me/exports/{export_id}"), headers=bearer(token), timeout=10
        )
        last.update(got.json())
        return last if last.get("status") == "ready" else None

    try:
        job = eventually(ready, "every service's part of the export", timeout=120)
    except AssertionError as error:
        raise AssertionError(f"{error}; still waiting for {last.get('pending_services')}") from None
    archive = httpx.get(
        platform.url(IDENTITY, job["archive_url"]), headers=bearer(token), timeout=30
    )
    assert archive.status_code == 200, archive.text
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        names = set(zipped.namelist())
        assert {f"{s}.json" for s in (*SERVICES, "identity")} | {"samenvatting.html"} <= names
        own = json.loads(zipped.read("identity.json"))
        questionnaires = json.loads(zipped.read("questionnaires.json"))
        summary = zipped.read("samenvatting.html").decode()
    assert own["profile"]["display_name"] == "Ria Smit"
    assert [h["purpose"] for h in own["consents"]["history"]] == ["share_results"]
    assert story["response_id"] in json.dumps(questionnaires)
    assert "Uw gegevens bij Wijkkracht" in summary and "Your data at Wijkkracht" in summary


def test_3_after_the_erasure_nothing_is_left_anywhere(
    platform: Platform, story: dict[str, Any]
) -> None:
    person_id, token = resident_of(story)
    requested = httpx.post(platform.api(IDENTITY, "/me/erasure"), headers=bearer(token), timeout=10)
    assert requested.status_code == 202, requested.text
    admin = login(platform, "beheer@demo.test")
    last: dict[str, Any] = {}

    def completed() -> dict[str, Any] | None:
        got = httpx.get(
            platform.api(IDENTITY, f"/people/{person_id}/erasure"),
            headers=bearer(admin),
            timeout=10,
        )
        last.update(got.json() if got.status_code == 200 else {})
        return last if last.get("status") == "completed" else None

    try:
        eventually(completed, "identity reporting the erasure complete", timeout=180)
    except AssertionError as error:
        raise AssertionError(f"{error}; last status: {last}") from None

    verified = subprocess.run(
        [
            str(Path(sys.executable).with_name("wk")),
            "privacy",
            "verify-erasure",
            person_id,
            "--tenant",
            TENANT,
        ],
        env={**os.environ, **platform_urls(platform), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_4_every_replica_served_its_share(platform: Platform) -> None:
    """With two replicas, the story's requests reached both processes of each service it
    used (so what one process kept to itself would have failed a step above)."""
    if platform.replicas == 1:
        pytest.skip("one process per service")
    logs = next(Path(line.split()[2].rstrip(".")) for line in platform.output if "Logs in" in line)
    for service in ("identity", "questionnaires"):
        for log in (logs / f"{service}.log", logs / f"{service}-2.log"):
            routes = [
                json.loads(line)["route"]
                for line in log.read_text().splitlines()
                if line.startswith("{") and '"event": "request"' in line
            ]
            assert routes, f"{log.name} served no request"


def platform_urls(platform: Platform) -> dict[str, str]:
    """WK_NATS_URL / WK_MONGO_URL of the launched platform (the launcher prints them)."""
    urls: dict[str, str] = {}
    for line in platform.output:
        label, _, value = line.strip().partition(" ")
        if label == "NATS":
            urls["WK_NATS_URL"] = value.strip()
        elif label == "Database":
            urls["WK_MONGO_URL"] = value.strip()
    assert set(urls) == {"WK_NATS_URL", "WK_MONGO_URL"}, platform.output
    return urls
