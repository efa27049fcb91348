"""`make run` end to end: the launcher starts NATS, the database, the mail sink and every
service as processes on free ports, seeds the demo tenant, and Ctrl-C stops everything
without orphans. Scenarios then go through HTTP only, like a member organisation's front end."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata
from dateutil.rrule import rrulestr
from icalendar import Calendar
from openapi_spec_validator import validate as validate_openapi
from social_map.standards import hsds

from .conftest import DEMO_PASSWORD, PREFIX, Platform, _LoginForm, launch, login

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with launch(tmp_path_factory.mktemp("platform")) as running:
        yield running


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True)
    rows = [tuple(int(x) for x in line.split()) for line in out.stdout.splitlines() if line]
    kids: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in rows if parent in frontier} - kids
        kids |= frontier
    return kids


def test_every_service_is_ready(platform: Platform) -> None:
    for offset in (1, 2, 5, 6):
        response = httpx.get(platform.url(offset, "/readyz"), timeout=5)
        assert response.status_code == 200, (offset, response.text)
        assert httpx.get(platform.url(offset, "/metrics"), timeout=5).status_code == 200


def test_client_credentials_token_is_accepted_by_another_service(platform: Platform) -> None:
    discovery = httpx.get(
        platform.url(1, "/identity/v1/.well-known/openid-configuration"), timeout=5
    ).json()
    assert discovery["issuer"] == platform.url(1, "/identity/v1")
    token = httpx.post(
        discovery["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=("demo-backend", "demo-backend-secret"),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]
    # Another service verifies it against identity's JWKS (fetched over HTTP).
    headers = {"Authorization": f"Bearer {access_token}"}
    instruments = httpx.get(
        platform.url(2, "/questionnaires/v1/instruments"), headers=headers, timeout=10
    )
    assert instruments.status_code == 200, instruments.text
    forged = httpx.get(
        platform.url(2, "/questionnaires/v1/instruments"),
        headers={"Authorization": f"Bearer {access_token[:-4]}AAAA"},
        timeout=10,
    )
    assert forged.status_code == 401


def _portal(platform: Platform) -> str:
    for line in platform.output:
        match = re.search(r"==> Open (http://\S+) and log in", line)
        if match:
            return match.group(1)
    raise AssertionError("the portal is not in the summary:\n" + "\n".join(platform.output))


def test_the_summary_starts_with_the_portal(platform: Platform) -> None:
    url = _portal(platform)
    assert urlsplit(url).port == platform.base_port + 80
    lines = platform.output
    first = next(i for i, line in enumerate(lines) if "==> Open" in line)
    ticks = [i for i, line in enumerate(lines) if "✓" in line]
    assert ticks and first < min(ticks), "the portal comes first in the summary"
    assert any("inwoner@demo.test" in line for line in lines[first : first + 4])
    assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    home = httpx.get(url, timeout=10)
    assert home.status_code == 200 and "Inloggen" in home.text


def test_portal_login_round_trip_through_identity(platform: Platform) -> None:
    """The portal's login link, identity's form, the callback: a signed-in page. The client
    `portal` and its secret come from the launcher (identity's demo seed registers it)."""
    url = _portal(platform)
    cookie = "__Host-wk-portal"
    with httpx.Client(timeout=30) as client:
        start = client.get(f"{url}/login")
        assert start.status_code == 303, start.text[:300]
        session = start.cookies.get(cookie) or ""
        page = client.get(start.headers["location"])
        assert page.status_code == 200, page.text[:500]
        form = _LoginForm()
        form.feed(page.text)
        data = {f["name"]: f.get("value", "") for f in form.inputs if f.get("type") == "hidden"}
        data |= {"email": "sociaalwerker@demo.test", "password": DEMO_PASSWORD}
        posted = client.post(urljoin(str(page.url), form.action or ""), data=data)
        assert posted.status_code in (302, 303), posted.text[:500]
        assert posted.headers["location"].startswith(f"{url}/callback?")
        # The session cookie is Secure (__Host-): send it by hand over plain http.
        done = client.get(posted.headers["location"], headers={"cookie": f"{cookie}={session}"})
        assert done.status_code == 303, done.text[:300]
        assert "set-cookie" in done.headers, "no session after the callback"
        signed_in = done.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        home = client.get(url, headers={"cookie": f"{cookie}={signed_in}"})
        assert home.status_code == 200
        assert 'href="/caseload"' in home.text, "not signed in: the code exchange failed"
        caseload = client.get(f"{url}/caseload", headers={"cookie": f"{cookie}={signed_in}"})
        assert caseload.status_code == 200, caseload.text[:500]


def _machine_token(token_endpoint: str) -> dict[str, str]:
    token = httpx.post(
        token_endpoint,
        data={"grant_type": "client_credentials"},
        auth=("demo-backend", "demo-backend-secret"),
        timeout=30,
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_the_running_services_pass_the_standards_validators(platform: Platform) -> None:
    """Issue 15's table, against the processes `make run` starts: OpenID Connect discovery
    (Authlib's validator), every service's OpenAPI document (openapi-spec-validator) and the
    iCalendar feed of every demo neighbourhood (icalendar, each rule's first occurrence)."""
    discovery = httpx.get(platform.api(1, "/.well-known/openid-configuration"), timeout=30).json()
    OpenIDProviderMetadata(discovery).validate()
    for offset, prefix in PREFIX.items():
        document = httpx.get(platform.url(offset, "/openapi.json"), timeout=30)
        assert document.status_code == 200, (prefix, document.text[:300])
        validate_openapi(document.json())
    machine = _machine_token(discovery["token_endpoint"])
    hoods = httpx.get(platform.api(5, "/neighbourhoods"), headers=machine, timeout=30)
    assert hoods.status_code == 200, hoods.text
    codes = [h["code"] for h in hoods.json()["items"]]
    events = 0
    for code in codes:
        feed = httpx.get(
            platform.api(5, f"/neighbourhoods/{code}/activities.ics"), headers=machine, timeout=30
        )
        assert feed.status_code == 200, (code, feed.text[:300])
        calendar = Calendar.from_ical(feed.text)
        assert [str(z["tzid"]) for z in calendar.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
        for event in calendar.walk("VEVENT"):
            start = event.decoded("dtstart")
            rule = event["rrule"].to_ical()
            rule = rule.decode() if isinstance(rule, bytes) else str(rule)
            assert rrulestr(rule, dtstart=start)[0] == start
            events += 1
    assert events > 10, "the demo map has weekly activities"


def test_the_demo_map_exports_valid_hsds(platform: Platform, tmp_path: Path) -> None:
    """The demo map as a neighbourhood manager exports it (the tenant admin grants the role
    over the API, as in a real region), checked by the official HSDS 3.0 schemas and the
    tabular package by frictionless."""
    admin = {"Authorization": f"Bearer {login(platform, 'beheer@demo.test')}"}
    people = httpx.get(
        platform.api(1, "/people"),
        params={"organisation": "gemeente-demo"},
        headers=admin,
        timeout=30,
    )
    assert people.status_code == 200, people.text
    # the list shows no e-mail addresses: the demo's one analyst is found by role
    [analyst] = [
        p for p in people.json()["items"] if any("analyst" in m["roles"] for m in p["memberships"])
    ]
    granted = httpx.put(
        platform.api(1, f"/people/{analyst['id']}/memberships/gemeente-demo"),
        json={"roles": ["analyst", "neighbourhood_manager"]},
        headers=admin,
        timeout=30,
    )
    assert granted.status_code == 200, granted.text
    manager = {"Authorization": f"Bearer {login(platform, 'analist@demo.test')}"}
    exported = httpx.get(
        platform.api(5, "/exports/hsds"), params={"format": "json"}, headers=manager, timeout=60
    )
    assert exported.status_code == 200, exported.text[:300]
    services = exported.json()
    assert len(services) > 300  # the demo map
    assert hsds.json_problems(services) == []
    package = httpx.get(
        platform.api(5, "/exports/hsds"), params={"format": "csv"}, headers=manager, timeout=60
    )
    assert package.status_code == 200
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        archive.extractall(tmp_path)
    assert (tmp_path / hsds.DESCRIPTOR).read_bytes() == hsds.datapackage_descriptor()
    assert hsds.package_problems(tmp_path) == []


def test_ctrl_c_stops_everything_without_orphans(platform: Platform) -> None:
    children = _children(platform.process.pid)
    assert children, "the launcher started no processes"
    platform.process.send_signal(signal.SIGINT)
    assert platform.process.wait(timeout=60) == 0
    time.sleep(1)
    alive = []
    for pid in children:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    assert not alive, f"orphans left running: {alive}"
