"""`make run`: the whole platform on one machine, no Docker.

Starts the embedded NATS (JetStream, 127.0.0.1:14222, data in .data/nats) and database
(nx-27017, 127.0.0.1:27117, data in .data/db) unless WK_NATS_URL / WK_MONGO_URL name external
servers, then every service that exists, waits for each /readyz, seeds the demo tenant (dev
mode only) and prints URLs and logins. Ctrl-C stops everything; a second run keeps the data.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "libs" / "common" / "src"))

from wijkkracht_common.embedded import (  # noqa: E402
    EmbeddedError,
    ManagedProcess,
    port_open,
    start_mongo,
    start_nats,
    stop_all,
)

SERVICES: list[tuple[str, int, str]] = [
    ("identity", 8001, "/identity/v1"),
    ("questionnaires", 8002, "/questionnaires/v1"),
    ("learning_paths", 8003, "/learning-paths/v1"),
    ("marketplace", 8004, "/marketplace/v1"),
    ("social_map", 8005, "/social-map/v1"),
    ("effect_measurement", 8006, "/effects/v1"),
]
NATS_PORT, MONGO_PORT, MAIL_PORT = 14222, 27117, 14025


def available_services() -> list[tuple[str, int, str]]:
    return [s for s in SERVICES if (ROOT / "services" / s[0] / "src" / s[0] / "main.py").exists()]


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedError(f"{url} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise EmbeddedError(f"{url} not ready after {timeout:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--no-seed", action="store_true", help="do not seed the demo tenant")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    parser.add_argument("--nats-port", type=int, default=NATS_PORT)
    parser.add_argument("--mongo-port", type=int, default=MONGO_PORT)
    parser.add_argument("--mail-port", type=int, default=MAIL_PORT)
    parser.add_argument(
        "--base-port", type=int, default=8000, help="services listen on base+1 (identity) … base+6"
    )
    args = parser.parse_args()

    data = args.data_dir
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ}
    env.setdefault("WK_ENV", "dev")
    if env["WK_ENV"] == "dev" and not args.no_seed:
        # Each service seeds its part of the demo tenant while starting (idempotent); it is
        # ready only when seeded. One writer per database: nx-27017 needs that.
        env.setdefault("WK_DEMO_SEED", "true")
    identity_url = f"http://127.0.0.1:{args.base_port + 1}/identity/v1"
    env.setdefault("WK_ISSUER", identity_url)
    env.setdefault("WK_JWKS_URL", f"{identity_url}/.well-known/jwks.json")
    processes: list[ManagedProcess] = []

    def shutdown(*_: object) -> None:
        print("\nStopping Wijkkracht …", flush=True)
        stop_all(processes)
        print("Stopped.", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)

    try:
        if "WK_NATS_URL" not in env:
            if port_open(args.nats_port):
                raise EmbeddedError(f"port {args.nats_port} is taken: stop it or set WK_NATS_URL")
            processes.append(start_nats(args.nats_port, data / "nats", logs / "nats.log"))
            env["WK_NATS_URL"] = processes[-1].url
        if "WK_MONGO_URL" not in env:
            if port_open(args.mongo_port):
                raise EmbeddedError(f"port {args.mongo_port} is taken: stop it or set WK_MONGO_URL")
            processes.append(start_mongo(args.mongo_port, data / "db", logs / "db.log"))
            env["WK_MONGO_URL"] = processes[-1].url
        if "WK_SMTP_HOST" not in env:
            mail_log = (logs / "mail.log").open("ab")
            sink = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wijkkracht_common.mailsink",
                    "--port",
                    str(args.mail_port),
                    "--dir",
                    str(data / "mail"),
                ],
                env=env,
                stdout=mail_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append(ManagedProcess("mail", sink, f"smtp://127.0.0.1:{args.mail_port}"))
            env["WK_SMTP_HOST"], env["WK_SMTP_PORT"] = "127.0.0.1", str(args.mail_port)
        print(
            f"NATS      {env['WK_NATS_URL']}\nDatabase  {env['WK_MONGO_URL']}\n"
            f"Mail      {data / 'mail'} (dev sink, one .eml file per message)",
            flush=True,
        )

        started: list[tuple[str, int, str]] = []
        for name, default_port, prefix in available_services():
            port = args.base_port + default_port - 8000
            log_file = (logs / f"{name}.log").open("ab")
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    f"{name}.main:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                ],
                env={**env, "WK_HTTP_PORT": str(port)},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append(ManagedProcess(name, process, f"http://127.0.0.1:{port}"))
            started.append((name, port, prefix))
        for (name, port, _), managed in zip(
            started, processes[len(processes) - len(started) :], strict=True
        ):
            try:
                wait_ready(f"http://127.0.0.1:{port}/readyz", managed.process)
            except EmbeddedError:
                log_tail = (logs / f"{name}.log").read_text(errors="replace").splitlines()[-15:]
                print(
                    f"{name} did not start; last lines of {logs / (name + '.log')}:",
                    *log_tail,
                    sep="\n  ",
                    file=sys.stderr,
                    flush=True,
                )
                raise
            print(f"  ✓ {name:<20} http://127.0.0.1:{port}/docs", flush=True)

        logins = ROOT / "docs" / "demo-logins.txt"
        if logins.exists():
            # The file names the default ports; show the ones this run uses.
            print(
                re.sub(
                    r"127\.0\.0\.1:80(0\d)",
                    lambda m: f"127.0.0.1:{args.base_port + int(m.group(1))}",
                    logins.read_text(),
                ),
                flush=True,
            )
        print(f"Logs in {logs}. Ctrl-C stops everything.", flush=True)
        while True:
            for managed in processes:
                if managed.process.poll() is not None:
                    print(
                        f"{managed.name} stopped unexpectedly (code "
                        f"{managed.process.returncode}); see {logs}",
                        flush=True,
                    )
                    shutdown()
            time.sleep(1)
    except (EmbeddedError, subprocess.CalledProcessError) as error:
        print(f"make run failed: {error}", file=sys.stderr, flush=True)
        stop_all(processes)
        return 1


if __name__ == "__main__":
    sys.exit(main())
