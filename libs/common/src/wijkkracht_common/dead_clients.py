"""Waiting until the embedded server (nx-27017) has finished the commands of a client that died.

nx-27017 serves each connection in a thread of its own and finishes a command whose client
has gone. When a process dies (SIGKILL) holding a database's transaction lock, the command it
was waiting on may still be running in the server: a multi-document insert, a bulk update.
Ending the dead process's session rolls its transaction back *between two of that command's
statements*; the statements after it run outside any transaction and stay (measured: 114 and
273 of 300 inserted documents of a rolled-back transaction kept, in 2 of 15 kills). So the next
holder waits before it ends the session until

1. the dead process is gone (or a zombie): the kernel has closed its sockets, so each of its
   connections to the server has seen the client's FIN, and
2. no server-side connection that was half closed at that moment (CLOSE_WAIT: the client
   closed, the server thread has not yet read the end of the stream, i.e. is still working
   on the last command) is left.

Read from Linux's /proc (the embedded server runs on the machine of its clients, as the lock
files assume). Where /proc cannot be read, nothing can be checked: a warning says so.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Collection
from pathlib import Path

from wijkkracht_common.observability import get_logger

log = get_logger(__name__)

_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_CLOSE_WAIT = "08"
_POLL = 0.01


def _process_alive(pid: int) -> bool:
    """Whether `pid` runs and still holds its files (a zombie has closed them)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rpartition(")")[2].split()[0:1]
    return state not in (["Z"], ["X"])


def half_closed(ports: Collection[int]) -> set[str] | None:
    """Server-side connections on `ports` whose client has closed (CLOSE_WAIT), as their
    client addresses; None when the socket tables cannot be read."""
    found: set[str] = set()
    read_any = False
    for table in _TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        read_any = True
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != _CLOSE_WAIT:
                continue
            if int(fields[1].rpartition(":")[2], 16) in ports:
                found.add(fields[2])
    return found if read_any else None


async def until_served(pid: int, ports: Collection[int], within: float) -> bool:
    """Wait until the dead process `pid` is gone and the server has finished every connection
    half closed at that moment (module docstring): True then, False when `within` seconds passed
    first. Where the connections cannot be seen, True at once with a warning (nothing to
    wait for that could be observed)."""
    deadline = time.monotonic() + within
    while pid != os.getpid() and _process_alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(_POLL)
    waiting = half_closed(ports)
    if waiting is None:
        log.warning("cannot see the database server's connections (no /proc/net/tcp)")
        return True
    while waiting:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(_POLL)
        still = half_closed(ports)
        waiting = waiting & still if still is not None else set()
    return True
