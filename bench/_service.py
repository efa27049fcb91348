"""A service under bench as its own uvicorn process, as it runs in production: the load client
does not share its event loop, its interpreter lock or its core. Tokens come from a
`TestIssuer` whose keys a small local JWKS endpoint serves."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from _stack import Stack
from wijkkracht_common.embedded import free_port
from wijkkracht_common.testing.issuer import TestIssuer


def serve_jwks(issuer: TestIssuer) -> tuple[ThreadingHTTPServer, str]:
    body = json.dumps(issuer.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc). CPU per request holds on a
    busy machine, where wall-clock rates do not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_pid(mongo_url: str) -> int | None:
    """The nx-27017 process serving `mongo_url` (None for another server, or without /proc)."""
    port = mongo_url.rsplit(":", 1)[-1].split("/", 1)[0]
    try:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    args = (entry / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if any(a.endswith(b"nx-27017") for a in args) and port.encode() in args:
                    return int(entry.name)
    except OSError:
        pass
    return None


async def start_service(
    stack: Stack,
    factory: str,
    issuer: str,
    jwks_url: str,
    *,
    env: dict[str, str] | None = None,
    log_path: str | None = None,
    profile: str | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """`factory` ("questionnaires.main:create_app") as a uvicorn process on a free port, once
    its /readyz answers 200. `profile`: under cProfile, written to that file when the service
    stops (SIGTERM: uvicorn shuts down and returns)."""
    port = free_port()
    profiler = ["-m", "cProfile", "-o", profile] if profile else []
    process = subprocess.Popen(
        [
            sys.executable,
            *profiler,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            # Idle keep-alive connections of the pool (between phases, or at 100 req/s) must not
            # be closed by the server while the client reuses them (httpx.ReadError race).
            "--timeout-keep-alive",
            "120",
        ],
        env={
            **os.environ,
            "WK_NATS_URL": stack.nats_url,
            "WK_MONGO_URL": stack.mongo_url,
            "WK_ISSUER": issuer,
            "WK_JWKS_URL": jwks_url,
            "WK_ENV": "test",
            "WK_LOG_LEVEL": "WARNING",
            "WK_LOG_JSON": "true",
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "ab") if log_path else subprocess.DEVNULL,  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(1200):  # a busy machine (and cProfile) make start-up slow
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return process, base
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{factory} did not become ready")


def stop_service(process: subprocess.Popen[bytes], *, profiled: bool = False) -> None:
    """Stop a service `start_service` started. Under cProfile with SIGINT: uvicorn re-raises
    the signal it stopped on, and SIGTERM would end cProfile before it writes its file."""
    if profiled:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    else:
        process.terminate()
        process.wait(timeout=30)
