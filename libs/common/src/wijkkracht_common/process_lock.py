"""Cross-process exclusion of one database's transactions on the embedded server (nx-27017).

nx-27017 runs every transaction of a database on one shared SQLite connection (BEGIN, then
SAVEPOINTs for the ones that overlap): two transactions at once, from one process or from
two, break each other ("no such savepoint", half-applied writes). `Storage` therefore holds,
on that engine only, an asyncio lock per database in the process and this lock across
processes: `fcntl.flock` on one small file per database, in a folder keyed by the server's
address (all clients of an embedded server run on its machine). MongoDB needs none of this.

The file also holds a small shared record (mapped into memory, written only by the holder):
- the database's count of rolled-back transaction attempts, summed over every process, so a
  reader outside a transaction (which sees uncommitted writes there) can tell that what it
  read may have been rolled back, whichever process rolled it back;
- the holder's pid and its open transaction's session id. The kernel releases a flock when
  its process dies; a holder that dies (SIGKILL) leaves its pid behind, so the next holder
  knows the dead one's transaction was never finished: the server keeps it open (it does not
  end sessions when a connection closes), and `Storage` ends that session, rolling it back.

Acquiring polls with a short back-off (a failed non-blocking flock costs ~1 µs): a thread
blocked in `flock` could not be cancelled, and a cancelled waiter must not take the lock
later behind everyone's back.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import mmap
import os
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DatabaseLock", "Orphan", "lock_dir"]

# aborted transaction attempts, holder pid, holder's open transaction session id (16 bytes)
_RECORD = struct.Struct("<QQ16s")
_SIZE = 64
_NO_SESSION = bytes(16)
_FIRST_WAIT, _MAX_WAIT = 0.0005, 0.01


@dataclass(frozen=True)
class Orphan:
    """What a holder that died while holding the lock left: its pid and the session id of
    its unfinished transaction (None when it held no transaction open)."""

    pid: int
    session_id: bytes | None


def lock_dir(server_key: str, base: Path | None = None) -> Path:
    """The folder of the lock files of one server (`server_key`: its address)."""
    digest = hashlib.sha256(server_key.encode()).hexdigest()[:16]
    folder = (base or Path(tempfile.gettempdir())) / f"wijkkracht-nx-locks-{os.getuid()}" / digest
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


class DatabaseLock:
    """The cross-process lock of one database and its shared record (module docstring).

    One object per database per process; it also excludes event loops of one process from
    each other (a thread lock beside the flock, which a process holds once per open file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)  # only ever grows: a concurrent creator loses nothing
            self._map = mmap.mmap(fd, _SIZE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._thread_lock = threading.Lock()
        self._held = False

    # -- the shared record ---------------------------------------------------------------
    def _read(self) -> tuple[int, int, bytes]:
        aborts, pid, session = _RECORD.unpack_from(self._map, 0)
        return int(aborts), int(pid), bytes(session)

    def _write(self, aborts: int, pid: int, session: bytes) -> None:
        _RECORD.pack_into(self._map, 0, aborts, pid, session)

    @property
    def aborts(self) -> int:
        """Rolled-back transaction attempts on the database, counted by every process."""
        return self._read()[0]

    def note_abort(self) -> None:
        """Count a rolled-back attempt (the holder only)."""
        self._require_held()
        aborts, pid, session = self._read()
        self._write(aborts + 1, pid, session)

    def transaction_started(self, session_id: bytes) -> None:
        """Record the holder's open transaction (ended by the next holder if this one dies)."""
        self._require_held()
        aborts, pid, _ = self._read()
        self._write(aborts, pid, session_id.ljust(16, b"\0")[:16])

    def _require_held(self) -> None:
        if not self._held:
            raise RuntimeError(f"lock {self.path} not held")

    # -- locking ---------------------------------------------------------------------------
    def try_acquire(self) -> Orphan | bool | None:
        """False when another holder has it; otherwise taken, and what a dead previous
        holder left (an `Orphan`) or None."""
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._thread_lock.release()
            return False
        except BaseException:
            self._thread_lock.release()
            raise
        self._held = True
        aborts, pid, session = self._read()
        orphan = None
        if pid != 0:  # the previous holder never released: it died holding the lock
            orphan = Orphan(pid, session if session != _NO_SESSION else None)
        self._write(aborts, os.getpid(), _NO_SESSION)
        return orphan

    async def acquire(self) -> Orphan | None:
        """Take the lock without blocking the event loop (polling with back-off)."""
        wait = _FIRST_WAIT
        while True:
            taken = self.try_acquire()
            if taken is not False:
                return taken if isinstance(taken, Orphan) else None
            await asyncio.sleep(wait)
            wait = min(wait * 1.5, _MAX_WAIT)

    def release(self, *, leave: Orphan | None = None) -> None:
        """Release; `leave`: an orphan this holder could not end, left for the next one."""
        self._require_held()
        aborts, _, _ = self._read()
        if leave is None:
            self._write(aborts, 0, _NO_SESSION)
        else:
            self._write(aborts, leave.pid, leave.session_id or _NO_SESSION)
        self._held = False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
