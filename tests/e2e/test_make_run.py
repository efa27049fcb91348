"""`make run` end to end: the launcher starts NATS, the database, the mail sink and every
service as processes on free ports, seeds the demo tenant, and Ctrl-C stops everything
without orphans. Scenarios then go through HTTP only, like a member organisation's front end."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from wijkkracht_common.embedded import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Platform:
    process: subprocess.Popen[bytes]
    base_port: int
    output: list[str]

    def url(self, offset: int, path: str = "") -> str:
        return f"http://127.0.0.1:{self.base_port + offset}{path}"


def _wait_for_line(process: subprocess.Popen[bytes], marker: str, lines: list[str],
                   timeout: float) -> None:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    buffer = ""
    while time.monotonic() < deadline:
        chunk = process.stdout.read()  # bytes or None (non-blocking)
        if chunk:
            buffer += chunk.decode(errors="replace")
            *complete, buffer = buffer.split("\n")
            lines.extend(complete)
            if any(marker in line for line in complete):
                return
        if process.poll() is not None:
            raise AssertionError("launcher exited:\n" + "\n".join(lines) + buffer)
        time.sleep(0.2)
    raise AssertionError(f"'{marker}' not printed in {timeout}s:\n" + "\n".join(lines))


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,sid="], capture_output=True, text=True)
    rows = [tuple(int(x) for x in line.split()) for line in out.stdout.splitlines() if line]
    kids, frontier = set(), {pid}
    while frontier:
        nxt = {p for p, pp, _ in rows if pp in frontier} - kids
        kids |= nxt
        frontier = nxt
    return kids


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # Services on base+1 … base+6, picked below Linux's ephemeral range (32768+) so the free
    # ports handed to NATS, the database and the mail sink can never land on them.
    rng = random.Random()
    base_port = rng.randrange(20000, 30000, 10)
    while any(_port_taken(base_port + i) for i in range(1, 7)):
        base_port = rng.randrange(20000, 30000, 10)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WK_")}
    env["WK_ENV"] = "dev"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "devstack.py"), "run",
         "--data-dir", str(tmp_path_factory.mktemp("platform")), "--base-port", str(base_port),
         "--nats-port", str(free_port()), "--mongo-port", str(free_port()),
         "--mail-port", str(free_port())],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    try:
        _wait_for_line(process, "Ctrl-C stops everything", lines, timeout=180)
        yield Platform(process, base_port, lines)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def _port_taken(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_every_service_is_ready(platform: Platform) -> None:
    for offset in (1, 2, 5, 6):
        response = httpx.get(platform.url(offset, "/readyz"), timeout=5)
        assert response.status_code == 200, (offset, response.text)
        assert httpx.get(platform.url(offset, "/metrics"), timeout=5).status_code == 200


def test_client_credentials_token_is_accepted_by_another_service(platform: Platform) -> None:
    discovery = httpx.get(
        platform.url(1, "/identity/v1/.well-known/openid-configuration"), timeout=5).json()
    assert discovery["issuer"] == platform.url(1, "/identity/v1")
    token = httpx.post(discovery["token_endpoint"], data={"grant_type": "client_credentials"},
                       auth=("demo-backend", "demo-backend-secret"), timeout=10)
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]
    # Another service verifies it against identity's JWKS (fetched over HTTP).
    headers = {"Authorization": f"Bearer {access_token}"}
    instruments = httpx.get(platform.url(2, "/questionnaires/v1/instruments"), headers=headers,
                            timeout=10)
    assert instruments.status_code == 200, instruments.text
    forged = httpx.get(platform.url(2, "/questionnaires/v1/instruments"),
                       headers={"Authorization": f"Bearer {access_token[:-4]}AAAA"}, timeout=10)
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
