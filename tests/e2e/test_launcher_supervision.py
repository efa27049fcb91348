"""`make run` supervises its parts: one that dies (NATS, a service) is started again after a
logged, growing delay while the rest keeps serving; SIGTERM stops every part, also when the
launcher runs as a background job (SIGINT ignored), and leaves no process behind."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from wijkkracht_common.embedded import free_port

from .conftest import PREFIX, ROOT, Platform, _port_taken

pytestmark = pytest.mark.e2e

DEVSTACK = ROOT / "scripts" / "devstack.py"
#: how a non-interactive shell starts a background job: SIGINT ignored (kept through exec)
BACKGROUND_JOB = ("sh", "-c", 'trap "" INT; exec "$@"', "sh")


class Console:
    """The launcher's output, read as it comes (non-blocking), kept whole lines."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        self.process = process
        self.lines: list[str] = []
        self._partial = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        chunk = self.process.stdout.read()  # bytes or None (nothing yet)
        if chunk:
            *complete, self._partial = (self._partial + chunk.decode(errors="replace")).split("\n")
            self.lines.extend(complete)

    def wait_for(self, marker: str, since: int = 0, timeout: float = 60.0) -> str:
        """The first line from `since` on holding `marker`."""
        deadline = time.monotonic() + timeout
        while True:
            exited = self.process.poll() is not None  # then this read gets all it wrote
            self._read()
            found = [line for line in self.lines[since:] if marker in line]
            if found:
                return found[0]
            if exited:
                raise AssertionError(f"launcher exited before '{marker}':\n" + self.text())
            if time.monotonic() > deadline:
                raise AssertionError(f"'{marker}' not printed in {timeout:.0f}s:\n" + self.text())
            time.sleep(0.2)

    def text(self) -> str:
        return "\n".join([*self.lines, self._partial])


@dataclass
class Background:
    platform: Platform
    console: Console
    data_dir: Path

    @property
    def pid(self) -> int:
        return int(self.platform.process.pid)


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    state: str
    args: str


def processes() -> list[Proc]:
    """Every live process (zombies left out: they have exited, only their parent must reap)."""
    out = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,ppid=,pgid=,stat=,args="],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split(None, 4) for line in out.stdout.splitlines() if line.strip()]
    procs = [Proc(int(r[0]), int(r[1]), int(r[2]), r[3], r[4] if len(r) > 4 else "") for r in rows]
    return [p for p in procs if not p.state.startswith("Z")]


def descendants(pid: int) -> list[Proc]:
    procs = processes()
    found: list[Proc] = []
    frontier = {pid}
    while frontier:
        layer = [p for p in procs if p.ppid in frontier and p not in found]
        found += layer
        frontier = {p.pid for p in layer}
    return found


def part_pid(launcher: int, marker: str) -> int:
    """The launcher's child whose command line holds `marker`."""
    pids = [p.pid for p in processes() if p.ppid == launcher and marker in p.args]
    assert len(pids) == 1, (marker, pids)
    return pids[0]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        time.sleep(0.25)


def ready(platform: Platform, offset: int) -> bool:
    try:
        return httpx.get(platform.url(offset, "/readyz"), timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _background_launcher(data_dir: Path) -> Iterator[Background]:
    """`make run` as a shell starts a background job: SIGINT ignored, inherited through exec.
    Free ports as in conftest.launch; stopped with SIGTERM (SIGINT would be ignored)."""
    rng = random.Random()
    base_port = rng.randrange(20000, 30000, 10)
    while any(_port_taken(base_port + i) for i in range(1, 7)):
        base_port = rng.randrange(20000, 30000, 10)
    nats, mongo, mail = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WK_")}
    env["WK_ENV"] = "dev"
    process = subprocess.Popen(
        [
            *BACKGROUND_JOB,
            *(sys.executable, str(DEVSTACK), "run", "--data-dir", str(data_dir)),
            *("--base-port", str(base_port), "--nats-port", str(nats)),
            *("--mongo-port", str(mongo), "--mail-port", str(mail)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    console = Console(process)
    try:
        console.wait_for("Ctrl-C stops everything", timeout=180)
        yield Background(Platform(process, base_port, console.lines), console, data_dir)
    finally:
        if process.poll() is None:
            started = descendants(process.pid)
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                # A failed test must not leave the platform running.
                for group in {proc.pgid for proc in started} - {os.getpgrp()}:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(group, signal.SIGKILL)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    yield from _background_launcher(tmp_path_factory.mktemp("supervised"))


def load_devstack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("devstack", DEVSTACK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("devstack", module)
    spec.loader.exec_module(module)
    return module


def test_restart_delays_double_to_a_cap_and_start_over_after_a_stable_run() -> None:
    devstack = load_devstack()
    policy = devstack.RestartPolicy(
        first_delay=1.0, max_delay=30.0, stable_after=60.0, loop_exits=5, loop_window=300.0
    )
    backoff = devstack.Backoff(policy)
    delays = []
    for n in range(7):
        delays.append(backoff.after_exit(ran_for=2.0, now=10.0 * n))
        assert backoff.crash_looping is (n + 1 >= 5)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    # A run past `stable_after` starts over; exits older than the window are forgotten.
    assert backoff.after_exit(ran_for=61.0, now=1000.0) == 1.0
    assert not backoff.crash_looping
    assert backoff.after_exit(ran_for=2.0, now=1003.0) == 2.0


def test_the_portal_client_secret_is_one_per_data_directory(tmp_path: Path) -> None:
    """A later run, seeded or not (`--no-seed`: nothing updates the registered client), gives
    the portal the secret identity registered its client with; only its owner reads it."""
    devstack = load_devstack()
    first = devstack.portal_secret(tmp_path)
    assert len(first) >= 32
    assert devstack.portal_secret(tmp_path) == first
    assert (tmp_path / "portal-client-secret").stat().st_mode & 0o077 == 0
    other = tmp_path / "other"
    other.mkdir()
    assert devstack.portal_secret(other) != first


def test_a_killed_service_comes_back_while_the_rest_keeps_serving(launcher: Background) -> None:
    console, platform = launcher.console, launcher.platform
    since = len(console.lines)
    killed = part_pid(launcher.pid, "questionnaires.main:create_app")
    os.kill(killed, signal.SIGKILL)

    crash = console.wait_for("questionnaires exited with code -9 (SIGKILL)", since)
    assert "restarting in 1.0 s" in crash
    # Nothing else was stopped: identity answers while questionnaires is down or restarting.
    assert ready(platform, 1)
    console.wait_for("questionnaires restarted", since)
    console.wait_for("questionnaires serves again", since, timeout=180)
    assert ready(platform, 2)
    assert part_pid(launcher.pid, "questionnaires.main:create_app") != killed
    for offset in PREFIX:
        assert ready(platform, offset), offset
    log = (launcher.data_dir / "logs" / "devstack.log").read_text()
    assert "questionnaires exited with code -9 (SIGKILL)" in log


def test_killed_nats_comes_back_after_a_growing_delay_and_services_serve_again(
    launcher: Background,
) -> None:
    console, platform = launcher.console, launcher.platform
    # Killed twice in quick succession: the second restart waits twice as long.
    for delay in ("1.0", "2.0"):
        since = len(console.lines)
        killed = part_pid(launcher.pid, "nats-server")
        os.kill(killed, signal.SIGKILL)
        crash = console.wait_for("nats exited with code -9 (SIGKILL)", since)
        assert f"restarting in {delay} s" in crash, crash
        console.wait_for("nats serves again", since)
        assert part_pid(launcher.pid, "nats-server") != killed

    # Every service reconnects on its own and reports ready again.
    wait_until(
        lambda: all(ready(platform, offset) for offset in PREFIX),
        timeout=120,
        what="every service ready after NATS came back",
    )
    assert platform.process.poll() is None


def test_sigterm_stops_every_part_of_a_background_launcher(launcher: Background) -> None:
    # The launcher was started the way a shell starts a background job: SIGINT ignored.
    inherited = subprocess.run(
        [*BACKGROUND_JOB, sys.executable, "-c", "import signal; print(signal.getsignal(2).name)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert inherited.stdout.strip() == "SIG_IGN"
    tree = descendants(launcher.pid)
    for marker in ("nats-server", "nx-27017", "wijkkracht_common.mailsink", "uvicorn"):
        assert any(marker in proc.args for proc in tree), marker
    # Each part leads its own group; never count this test's own group.
    pids, groups = {p.pid for p in tree}, {p.pgid for p in tree} - {os.getpgrp()}

    launcher.platform.process.send_signal(signal.SIGTERM)
    assert launcher.platform.process.wait(timeout=60) == 0
    launcher.console.wait_for("Stopped.")

    def nothing_left() -> bool:
        return not [p for p in processes() if p.pid in pids or p.pgid in groups]

    wait_until(nothing_left, timeout=15, what="every part gone")
