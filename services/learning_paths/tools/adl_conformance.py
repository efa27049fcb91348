"""Run the ADL LRS conformance test suite (xAPI 2.0.0) against this service.

    .venv/bin/python services/learning_paths/tools/adl_conformance.py [--suite DIR]

Starts its own embedded NATS and database, identity (for HTTP Basic: the demo tenant's
confidential client `demo-backend` exchanges its secret at identity's token endpoint) and
this service, on free ports, as processes. The suite (public repository
adlnet/lrs-conformance-test-suite, a Node project) is used from `--suite` or cloned into a
temporary folder with `npm install` there — never into this repository. Prints the suite's
`N passed of M` and the failures; the processes and temporary data are removed afterwards.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from wijkkracht_common.embedded import free_port, start_mongo, start_nats, stop_all

SUITE_URL = "https://github.com/adlnet/lrs-conformance-test-suite"
CLIENT, SECRET = "demo-backend", "demo-backend-secret"  # identity's demo seed


def _wait(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local service
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not become ready")


def _suite(given: str | None, work: Path) -> Path:
    if given:
        return Path(given)
    target = work / "suite"
    clone = ["git", "clone", "--depth", "1", SUITE_URL, str(target)]
    subprocess.run(clone, check=True)  # noqa: S603 - fixed command
    install = ["npm", "install", "--no-audit", "--no-fund"]
    subprocess.run(install, cwd=target, check=True)  # noqa: S603 - fixed command
    return target


def _failures(node: dict[str, Any], path: list[str]) -> list[str]:
    found = []
    if node.get("status") == "failed" and not node.get("tests"):
        found.append(" > ".join([*path, node.get("title", "")])[-240:])
    for child in node.get("tests") or []:
        found.extend(_failures(child, [*path, node.get("title", "")[:50]]))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", help="an existing checkout with node_modules installed")
    parser.add_argument("--grep", help="only the tests matching this pattern")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wk-adl-") as tmp:
        work = Path(tmp)
        servers = [
            start_nats(free_port(), work / "nats", work / "nats.log"),
            start_mongo(free_port(), work / "db", work / "db.log"),
        ]
        identity_port, lrs_port = free_port(), free_port()
        issuer = f"http://127.0.0.1:{identity_port}/identity/v1"
        env = {
            **os.environ,
            "WK_ENV": "dev",
            "WK_DEMO_SEED": "true",
            "WK_NATS_URL": servers[0].url,
            "WK_MONGO_URL": servers[1].url,
            "WK_ISSUER": issuer,
            "WK_JWKS_URL": f"{issuer}/.well-known/jwks.json",
            "WK_LOG_LEVEL": "WARNING",
            "WK_SOCIAL_MAP_URL": "",
        }
        services = []
        try:
            for name, port in (("identity", identity_port), ("learning_paths", lrs_port)):
                log = (work / f"{name}.log").open("ab")
                services.append(
                    subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
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
                        stdout=log,
                        stderr=log,
                        start_new_session=True,
                    )
                )
            _wait(f"http://127.0.0.1:{identity_port}/readyz")
            _wait(f"http://127.0.0.1:{lrs_port}/readyz")
            suite = _suite(args.suite, work)
            endpoint = f"http://127.0.0.1:{lrs_port}/learning-paths/v1/xapi"
            command = [
                "node",
                "bin/console_runner.js",
                "-x",
                "2.0.0",
                "-e",
                endpoint,
                "-a",
                "-u",
                CLIENT,
                "-p",
                SECRET,
                "-z",
            ]
            if args.grep:
                command += ["-g", args.grep]
            started = time.time()
            subprocess.run(command, cwd=suite, check=False, capture_output=True)  # noqa: S603
            logs = [
                f
                for f in glob.glob(str(suite / "logs" / "*.log"))
                if os.path.getmtime(f) >= started
            ]
            if not logs:
                print("the suite wrote no log")
                return 1
            result = json.loads(Path(max(logs, key=os.path.getmtime)).read_text())
            summary = result["summary"]
            print(
                f"ADL LRS conformance, xAPI {summary.get('version')}: "
                f"{summary['passed']} passed of {summary['total']}"
            )
            for failure in _failures(result.get("log", {}), []):
                print(f"  FAILED {failure}")
            return 0 if summary["passed"] == summary["total"] else 1
        finally:
            for process in services:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            stop_all(servers)


if __name__ == "__main__":
    sys.exit(main())
