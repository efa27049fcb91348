"""`dead_clients` on real loopback sockets and processes (Linux /proc)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from wijkkracht_common import dead_clients

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="Linux /proc only")


def _listening() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


async def test_a_connection_whose_client_closed_is_waited_for_until_the_server_closes_it() -> None:
    server = _listening()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    try:
        assert dead_clients.half_closed({port}) == set()
        client.close()  # the client is gone; the server has not read the end yet
        assert len(dead_clients.half_closed({port}) or ()) == 1
        assert await dead_clients.until_served(0, {port}, within=0.05) is False
        accepted.close()  # the server finished with it
        assert await dead_clients.until_served(0, {port}, within=5) is True
    finally:
        accepted.close()
        server.close()


async def test_a_process_that_still_runs_is_waited_for() -> None:
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert await dead_clients.until_served(running.pid, set(), within=0.05) is False
        running.send_signal(signal.SIGKILL)
        # a zombie (not reaped yet) has closed its files and sockets: nothing to wait for
        assert await dead_clients.until_served(running.pid, set(), within=5) is True
    finally:
        running.kill()
        running.wait()
