"""`make run` end to end: the launcher starts NATS, the database, the mail sink and every
service as processes on free ports, seeds the demo tenant, and Ctrl-C stops everything
without orphans. Scenarios then go through HTTP only, like a member organisation's front end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from .conftest import DEMO_PASSWORD, Platform, _LoginForm, launch

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
