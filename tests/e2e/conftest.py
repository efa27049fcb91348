"""Launch the whole platform with the `make run` launcher on free ports, and talk to it over
HTTP only — like a member organisation's front end."""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from wijkkracht_common.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
#: Every API service `make run` starts: port offset → path prefix.
PREFIX = {
    1: "/identity/v1",
    2: "/questionnaires/v1",
    3: "/learning-paths/v1",
    4: "/marketplace/v1",
    5: "/social-map/v1",
    6: "/effects/v1",
}
DEMO_PASSWORD = "wijkkracht-demo"
REDIRECT = "http://localhost:8080/callback"


def replica_port(port: int, replica: int) -> int:
    """Replica k (from 1) of a service whose first replica listens on `port` (as
    `scripts/devstack.py --replicas` places them)."""
    return port + 100 * (replica - 1)


@dataclass
class Platform:
    process: subprocess.Popen[bytes]
    base_port: int
    output: list[str]
    #: processes per API service; with more than one, each `url` names the next replica
    replicas: int = 1
    _calls: itertools.count[int] = field(default_factory=itertools.count)

    def url(self, offset: int, path: str = "") -> str:
        port = self.base_port + offset
        if self.replicas > 1 and offset < 10:  # API services; not the portal
            port = replica_port(port, next(self._calls) % self.replicas + 1)
        return f"http://127.0.0.1:{port}{path}"

    def spread(self, url: str) -> str:
        """`url` of a first replica (as links and discovery name them) sent to the next
        replica, as a load balancer would: state kept in one process shows up as a failure."""
        parts = urlsplit(url)
        offset = (parts.port or 0) - self.base_port
        if not 0 < offset < 10:
            return url
        return urlunsplit(parts._replace(netloc=urlsplit(self.url(offset)).netloc))

    def api(self, offset: int, path: str) -> str:
        return self.url(offset, PREFIX[offset] + path)


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_line(
    process: subprocess.Popen[bytes], marker: str, lines: list[str], timeout: float
) -> None:
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


@contextmanager
def launch(
    data_dir: Path, extra_env: Mapping[str, str] | None = None, *, replicas: int = 1
) -> Iterator[Platform]:
    # Services on base+1 … base+6 (replica k: +100·(k-1)), picked below Linux's ephemeral range
    # (32768+) so the free ports handed to NATS, the database and the mail sink can never land
    # on them.
    rng = random.Random()
    ports = [replica_port(i, k) for k in range(1, replicas + 1) for i in range(1, 7)] + [80]
    base_port = rng.randrange(20000, 30000, 10)
    while any(_port_taken(base_port + i) for i in ports):
        base_port = rng.randrange(20000, 30000, 10)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WK_")}
    env.update({"WK_ENV": "dev", **(extra_env or {})})
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "devstack.py"),
            "run",
            "--data-dir",
            str(data_dir),
            "--base-port",
            str(base_port),
            "--nats-port",
            str(free_port()),
            "--mongo-port",
            str(free_port()),
            "--mail-port",
            str(free_port()),
            "--replicas",
            str(replicas),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    try:
        # each further replica of the six services starts after the first ones
        wait_for_line(process, "Ctrl-C stops everything", lines, timeout=180 * replicas)
        yield Platform(process, base_port, lines, replicas)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


class _LoginForm(HTMLParser):
    """The login page's form: its action and every input (hidden ones included)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        elif tag == "input" and "name" in values:
            self.inputs.append(values)


def login(
    platform: Platform, email: str, password: str = DEMO_PASSWORD, client_id: str = "demo-frontend"
) -> str:
    """Authorization code + PKCE with a standard OAuth client library; returns the access
    token. The login form is filled in like a person would, keeping its hidden fields."""
    discovery = httpx.get(platform.api(1, "/.well-known/openid-configuration"), timeout=15).json()
    with OAuth2Client(
        client_id=client_id,
        redirect_uri=REDIRECT,
        scope="openid profile email",
        code_challenge_method="S256",
        timeout=15,
    ) as oauth:
        verifier = generate_token(48)
        uri, _state = oauth.create_authorization_url(
            discovery["authorization_endpoint"], code_verifier=verifier
        )
        # each step on the next replica (a no-op with one process per service)
        page = oauth.request("GET", platform.spread(uri), withhold_token=True)
        assert page.status_code == 200, page.text
        form = _LoginForm()
        form.feed(page.text)
        data: dict[str, str] = {}
        for field in form.inputs:
            kind, name = field.get("type", "text"), field["name"]
            if kind == "hidden":
                data[name] = field.get("value", "")
            elif kind == "email" or "email" in name:
                data[name] = email
            elif kind == "password":
                data[name] = password
        posted = oauth.request(
            "POST",
            platform.spread(urljoin(uri, form.action or uri)),
            data=data,
            withhold_token=True,
        )
        assert posted.status_code in (302, 303), posted.text[:500]
        token = oauth.fetch_token(
            platform.spread(discovery["token_endpoint"]),
            authorization_response=posted.headers["location"],
            code_verifier=verifier,
        )
        return str(token["access_token"])
