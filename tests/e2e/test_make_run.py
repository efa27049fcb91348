"""`make run` end to end: the launcher starts NATS, the database, the mail sink and every
service as processes on free ports, seeds the demo tenant, and Ctrl-C stops everything
without orphans. Scenarios then go through HTTP only, like a member organisation's front end."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from .conftest import Platform, launch

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
