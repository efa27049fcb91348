"""Issue 13's "Done when", through the running platform (`make run`), over HTTP only:
a broker (identity's demo `makelaar@demo.test`, role `broker` in welzijn-demo) posts a help
request for a resident who does not use the marketplace herself, with her consent
(`marketplace_broker`); it appears in her access log, on behalf of the organisation; a
volunteer nearby is told (by mail, in the mail sink), offers help, they exchange messages, the
help is marked done, credits move within the group's limits (a transfer past the limit is
refused), and effect measurement shows `help_received_<category>` on her trajectory (read back
from her export). The demo's resident who is not online at all (Piet, no e-mail) is served by
the same broker with identity's real token and projected consent."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Platform, launch, login
from .test_learning_loop import measure_phase, person_of
from .test_scenarios import bearer, eventually, register_resident

pytestmark = pytest.mark.e2e

IDENTITY, MARKETPLACE = 1, 4
ORGANISATION = "welzijn-demo"
#: identity's demo resident who is not online (fixed id in identity's demo seed)
OFFLINE_RESIDENT = "01930000-0000-7000-8000-000000000066"
CATEGORY = "administratie"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Path]]:
    data = tmp_path_factory.mktemp("marketplace")
    env = {"WK_EXPORT_ASSEMBLY_SCAN_SECONDS": "2"}
    # Two replicas of every service (issue 11): each request goes to the next one.
    with launch(data, env, replicas=2) as platform:
        yield platform, data


def mp(platform: Platform, path: str) -> str:
    return str(platform.url(MARKETPLACE, "/marketplace/v1" + path))


def mails_to(data: Path, address: str) -> list[str]:
    texts = []
    for eml in sorted((data / "mail").glob("*.eml")):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        if message["To"] == address:
            body = message.get_body(("plain",))
            texts.append(str(body.get_content()) if body is not None else "")
    return texts


def call(method: str, url: str, token: str, expected: int | tuple[int, ...], **kw: Any) -> Any:
    headers = {**bearer(token), **kw.pop("headers", {})}
    got = httpx.request(method, url, headers=headers, timeout=15, **kw)
    wanted = (expected,) if isinstance(expected, int) else expected
    assert got.status_code in wanted, f"{method} {url}: {got.status_code} {got.text[:500]}"
    return got.json() if got.content else None


def test_the_marketplace_loop_through_the_platform(running: tuple[Platform, Path]) -> None:
    platform, data = running
    broker = login(platform, "makelaar@demo.test")
    professional = login(platform, "sociaalwerker@demo.test")
    email, password = register_resident(platform, pc4="9901", birth_year=1948)
    resident = login(platform, email, password)
    resident_id = person_of(platform, resident)
    v_email, v_password = register_resident(platform, pc4="9903", birth_year=1980)
    helper = login(platform, v_email, v_password)
    helper_id = person_of(platform, helper)
    request = {"kind": "request", "category": CATEGORY, "text": "Hulp met de huurtoeslag"}

    # 0. The demo's resident who is not online: the broker acts for him with identity's token
    #    (role `broker`) and his consent as identity recorded it.
    def for_piet() -> dict[str, Any] | None:
        got = httpx.post(
            mp(platform, "/posts"),
            params={"for_person": OFFLINE_RESIDENT},
            json=request,
            headers={**bearer(broker), "Idempotency-Key": "piet-1"},
            timeout=15,
        )
        return got.json() if got.status_code == 201 else None

    piet_post = eventually(for_piet, "the broker's post for the demo resident who is not online")
    assert piet_post["owner_id"] == OFFLINE_RESIDENT and piet_post["brokered"] is True

    # A trajectory for the resident (effect measurement links the help to it).
    measure_phase(platform, professional, resident, "1")

    # 1. Without her consent the broker cannot act for her (404); she gives it once.
    call(
        "POST",
        mp(platform, "/posts"),
        broker,
        404,
        params={"for_person": resident_id},
        json=request,
    )
    call(
        "POST",
        platform.api(IDENTITY, "/me/consents"),
        resident,
        (200, 201),
        json={"organisation": ORGANISATION, "purpose": "marketplace_broker"},
    )

    # 2. A volunteer nearby opts in to be told at once by mail.
    helper_mail = f"hulp-{uuid.uuid4().hex[:8]}@example.test"

    def opted_in() -> bool:  # her neighbourhood arrives with identity's event
        got = httpx.put(
            mp(platform, "/me/volunteer"),
            json={"categories": [CATEGORY], "radius_km": 5, "email": helper_mail},
            headers=bearer(helper),
            timeout=15,
        )
        return got.status_code == 200

    eventually(opted_in, "the volunteer's opt-in")

    # 3. A group with time credits: the broker brings her in, the volunteer joins.
    group = call(
        "POST",
        mp(platform, "/groups"),
        broker,
        201,
        json={
            "name": f"Buurtkring {uuid.uuid4().hex[:6]}",
            "kind": "open",
            "organisation": ORGANISATION,
            "credits": {"enabled": True, "min_balance": -3, "max_balance": 5},
        },
    )
    gid = group["id"]

    def joined() -> dict[str, Any] | None:  # the consent travels as an event
        got = httpx.post(
            mp(platform, f"/groups/{gid}/membership"),
            params={"for_person": resident_id},
            headers=bearer(broker),
            timeout=15,
        )
        return got.json() if got.status_code in (200, 201) else None

    assert eventually(joined, "the broker acting with her consent")["status"] == "active"
    assert (
        call("POST", mp(platform, f"/groups/{gid}/membership"), helper, (200, 201))["status"]
        == "active"
    )

    # 4. The broker posts the request for her; it is in her access log.
    post = call(
        "POST",
        mp(platform, "/posts"),
        broker,
        201,
        params={"for_person": resident_id},
        json={**request, "radius_km": 5, "visibility": "group", "group_id": gid},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert post["owner_id"] == resident_id and post["brokered"] is True

    def logged() -> dict[str, Any] | None:
        entries = call("GET", platform.api(IDENTITY, "/me/access-log"), resident, 200)["items"]
        return next((e for e in entries if e["resource"] == f"post/{post['id']}"), None)

    entry = eventually(logged, "the broker's post in the resident's access log")
    assert entry["service"] == "marketplace" and entry["on_behalf_of"] == ORGANISATION, entry
    assert entry["action"] == "create" and entry["reason"] == "marketplace_broker", entry

    # 5. The volunteer nearby is told by mail (no name, no text of the request).
    told = eventually(lambda: mails_to(data, helper_mail), "the mail to the volunteer")
    assert "huurtoeslag" not in told[-1]

    # 6. She offers help; the broker accepts for the resident; they exchange messages.
    match = call(
        "POST",
        mp(platform, f"/posts/{post['id']}/responses"),
        helper,
        201,
        json={"message": "Ik help graag!"},
    )
    accepted = call(
        "POST",
        mp(platform, f"/matches/{match['id']}/acceptance"),
        broker,
        200,
        params={"for_person": resident_id},
    )
    assert accepted["status"] == "accepted"
    call(
        "POST",
        mp(platform, f"/matches/{match['id']}/messages"),
        broker,
        201,
        params={"for_person": resident_id},
        json={"text": "Dank u, dinsdagochtend?"},
    )
    thread = call("GET", mp(platform, f"/matches/{match['id']}/messages"), helper, 200)
    assert [m["text"] for m in thread["items"]] == ["Ik help graag!", "Dank u, dinsdagochtend?"]

    # 7. The help is marked done.
    done = call("POST", mp(platform, f"/matches/{match['id']}/completion"), helper, 200)
    assert done["status"] == "done"

    # 8. Credits move within the group's limits (she may go to -3, not to -4).
    def pay(amount: int, key: str, expected: int) -> Any:
        return call(
            "POST",
            mp(platform, f"/groups/{gid}/transfers"),
            broker,
            expected,
            params={"for_person": resident_id},
            json={"to_person_id": helper_id, "amount": amount, "match_id": match["id"]},
            headers={"Idempotency-Key": key},
        )

    pay(2, f"pay-{match['id']}", 201)
    refused = pay(2, f"pay-2-{match['id']}", 409)
    assert refused["type"].endswith("balance-limit")
    assert call("GET", mp(platform, f"/groups/{gid}/balance"), helper, 200)["balance"] == 2

    # 9. Effect measurement shows the help on her trajectory (her export).
    def exported() -> dict[str, Any] | None:
        started = call("POST", platform.api(IDENTITY, "/me/exports"), resident, (200, 202))
        job = eventually(
            lambda: (
                j
                if (
                    j := call(
                        "GET", platform.api(IDENTITY, f"/me/exports/{started['id']}"), resident, 200
                    )
                ).get("status")
                == "ready"
                else None
            ),
            "the resident's export",
        )
        archive = httpx.get(
            platform.url(IDENTITY, job["archive_url"]), headers=bearer(resident), timeout=30
        )
        assert archive.status_code == 200, archive.text
        with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
            effects: dict[str, Any] = json.loads(zipped.read("effect_measurement.json"))
        found = {i["intervention_id"]: i["type"] for i in effects["interventions"]}
        return effects if f"marketplace:{match['id']}:helped" in found else None

    effects = eventually(exported, "help_completed on the resident's trajectory")
    found = {i["intervention_id"]: i["type"] for i in effects["interventions"]}
    assert found[f"marketplace:{match['id']}:helped"] == f"help_received_{CATEGORY}", found
    assert effects["trajectories"], effects
