"""Data the page tests need, made through the public APIs (as a member organisation's own
front end would): a resident with two sent questionnaires and one in progress, consent for
welzijn-demo, and an invitation from welzijn-demo so the resident is in its caseload."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import httpx

from .conftest import Portal

IDENTITY, QUESTIONNAIRES = 1, 2
INSTRUMENT = "health-short"


@dataclass
class Resident:
    email: str
    person_id: str
    submitted: list[str]
    in_progress: str


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _answers(client: httpx.Client, base: str, headers: dict[str, str]) -> dict[str, object]:
    definition = client.get(f"{base}/instruments/{INSTRUMENT}", headers=headers).json()
    items = [i for g in definition["definition"]["groups"] for i in g["items"]]
    return {i["link_id"]: {"value": random.randint(2, 9)} for i in items}


def resident_with_results(portal: Portal, name: str = "Ria Test") -> Resident:
    email = portal.register_resident(name)
    token = portal.token(email)
    headers = _headers(token)
    base = portal.api(QUESTIONNAIRES, "")
    with httpx.Client(timeout=30) as client:
        submitted = []
        for _ in range(2):
            started = client.post(
                f"{base}/responses",
                json={"instrument_id": INSTRUMENT, "language": "nl"},
                headers=headers,
            ).json()
            client.patch(
                f"{base}/responses/{started['id']}",
                json={"answers": _answers(client, base, headers)},
                headers=headers,
            ).raise_for_status()
            client.post(
                f"{base}/responses/{started['id']}/submit", headers=headers
            ).raise_for_status()
            submitted.append(started["id"])
        open_one = client.post(
            f"{base}/responses",
            json={"instrument_id": INSTRUMENT, "language": "nl"},
            headers=headers,
        ).json()
        for purpose in ("share_results", "share_learning_progress"):
            client.post(
                portal.api(IDENTITY, "/me/consents"),
                json={"organisation": "welzijn-demo", "purpose": purpose},
                headers=headers,
            ).raise_for_status()
    return Resident(email, portal.people[email], submitted, open_one["id"])


def invite(portal: Portal, resident: Resident) -> None:
    """welzijn-demo's social worker invites the resident (so they are in its caseload)."""
    token = portal.token("sociaalwerker@demo.test")
    answer = httpx.post(
        portal.api(QUESTIONNAIRES, "/invitations"),
        json={
            "organisation": "welzijn-demo",
            "instrument_id": INSTRUMENT,
            "person_id": resident.person_id,
        },
        headers=_headers(token),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    # Consent reaches the questionnaires service as an event: wait until it shows the results.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        shared = httpx.get(
            portal.api(QUESTIONNAIRES, f"/people/{resident.person_id}/responses"),
            headers=_headers(token),
            timeout=30,
        )
        if shared.status_code == 200 and shared.json()["items"]:
            return
        time.sleep(0.5)
    raise AssertionError("the resident's consent never reached the questionnaires service")


@dataclass
class Together:
    """Questionnaires a professional of welzijn-demo fills in together with a resident
    (assisted mode, through the questionnaires API): one in progress, one sent."""

    in_progress: str
    submitted: str


def filled_in_together(portal: Portal, resident: Resident) -> Together:
    token = portal.token("sociaalwerker@demo.test")
    headers = _headers(token)
    base = portal.api(QUESTIONNAIRES, "")
    body = {
        "instrument_id": INSTRUMENT,
        "language": "nl",
        "person_id": resident.person_id,
        "organisation": "welzijn-demo",
    }
    with httpx.Client(timeout=30) as client:
        ids = []
        for _ in range(2):
            started = client.post(f"{base}/responses", json=body, headers=headers)
            assert started.status_code == 201, started.text
            ids.append(started.json()["id"])
        client.patch(
            f"{base}/responses/{ids[1]}",
            json={"answers": _answers(client, base, headers)},
            headers=headers,
        ).raise_for_status()
        client.post(f"{base}/responses/{ids[1]}/submit", headers=headers).raise_for_status()
    return Together(ids[0], ids[1])
