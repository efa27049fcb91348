"""MongoDB access through motor: the only module that imports it (architecture §6).

Isolation per tenant by database: `wk_<service>_<tenant>`, so a query cannot cross tenants by
accident and a tenant can be exported or dropped whole. Indexes are declared per service and
created idempotently the first time a process touches a tenant's database.

Engine differences are handled HERE (and in `outbox`), never in service code. Services read
stored values through the helpers below, which are correct on MongoDB and on the embedded
nx-27017 alike (its quirks: docs/developer-guide.md, "Known quirks"):
- `stored_datetime(value)` / `restore_datetimes(doc)`: nx-27017 returns a datetime written
  with a top-level `$set` as a naive string; these give back an aware UTC datetime.
- `stored_bool(value)`: nx-27017 returns a boolean written with `$set` as 1/0.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from bson.binary import UUID_SUBTYPE, Binary
from motor.motor_asyncio import (
    AsyncIOMotorClient,
    AsyncIOMotorClientSession,
    AsyncIOMotorCollection,
    AsyncIOMotorDatabase,
)
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.client_options import ClientOptions
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    CollectionInvalid,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)
from pymongo.uri_parser import parse_uri

from wijkkracht_common import dead_clients
from wijkkracht_common.observability import get_logger
from wijkkracht_common.process_lock import DatabaseLock, Orphan, lock_dir
from wijkkracht_common.settings import DEFAULT_DB_TIMEOUTS_MS, url_option_names
from wijkkracht_common.tenancy import PLATFORM_TENANT, require_slug

Database = AsyncIOMotorDatabase
Collection = AsyncIOMotorCollection
Session = AsyncIOMotorClientSession

T = TypeVar("T")

log = get_logger(__name__)

#: Errors after which the same operation may succeed later (nak and retry, never drop).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    AutoReconnect,
    ConnectionFailure,
    ServerSelectionTimeoutError,
    NetworkTimeout,
    ExecutionTimeout,
    WTimeoutError,
)

__all__ = [
    "ASCENDING",
    "DESCENDING",
    "TRANSIENT_ERRORS",
    "BulkWriteError",
    "Collection",
    "Database",
    "DuplicateKeyError",
    "IndexModel",
    "IndexSpec",
    "Session",
    "Storage",
    "is_duplicate_key",
    "restore_datetimes",
    "stored_bool",
    "stored_datetime",
]


def stored_datetime(value: Any) -> datetime | None:
    """A stored date-time as an aware UTC datetime (None stays None), whichever engine stored
    it: a real datetime, a naive one, or the naive ISO string nx-27017 returns after `$set`."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a stored date-time: {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def stored_bool(value: Any) -> bool:
    """A stored boolean (nx-27017 returns one written with `$set` as 1/0)."""
    return bool(value)


def _is_datetime_key(key: str) -> bool:
    return key == "at" or key.endswith("_at") or key == "auth_time"


def _restore(value: Any, datetime_key: bool) -> Any:
    if isinstance(value, dict):
        return restore_datetimes(value)
    if isinstance(value, list):
        return [_restore(v, datetime_key) for v in value]
    if datetime_key and isinstance(value, str):
        try:
            return stored_datetime(value)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def restore_datetimes(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with every date-time under a date-time key (`at`, `*_at`, `auth_time`,
    at any depth) as an aware UTC datetime (see `stored_datetime`)."""
    return {k: _restore(v, _is_datetime_key(k)) for k, v in doc.items()}


_CATALOG_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _catalog_lock() -> asyncio.Lock:
    """One lock per event loop, shared by every Storage in the process, around creating a
    database (its first indexes) and listing databases: nx-27017 crashes ("sqlite3.Connection
    returned NULL") when the two run at once. Harmless on MongoDB (both are rare)."""
    loop = asyncio.get_running_loop()
    lock = _CATALOG_LOCKS.get(loop)
    if lock is None:
        lock = _CATALOG_LOCKS[loop] = asyncio.Lock()
    return lock


_TX_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _transaction_lock(database: str) -> asyncio.Lock:
    """Process-wide (per event loop) lock of one database's transactions, shared by every
    Storage object: two clients in one process (an app and an in-process job) must not run
    transactions on one nx-27017 database at once either."""
    locks = _TX_LOCKS.setdefault(asyncio.get_running_loop(), {})
    lock = locks.get(database)
    if lock is None:
        lock = locks[database] = asyncio.Lock()
    return lock


#: Cross-process locks of nx-27017 databases (`process_lock`), per (lock folder, database),
#: and by database name for `aborted_transactions`.
_PROCESS_LOCKS: dict[tuple[Path, str], DatabaseLock] = {}
_SHARED_RECORDS: dict[str, DatabaseLock] = {}


def _process_lock(folder: Path, database: str) -> DatabaseLock:
    lock = _PROCESS_LOCKS.get((folder, database))
    if lock is None:
        lock = _PROCESS_LOCKS[(folder, database)] = DatabaseLock(folder / f"{database}.lock")
    _SHARED_RECORDS[database] = lock
    return lock


def aborted_transactions(database: str) -> int:
    """How many transaction attempts on `database` were rolled back, by any process (or
    left unfinished by a process that died). nx-27017 lets reads outside a transaction see
    its uncommitted writes, another process's too: a reader that must not have seen
    rolled-back data compares this count before its reads and after. Counted only where reads
    can see uncommitted writes (nx-27017, in the database's shared lock record): always 0 on
    MongoDB, whose reads are committed, so such readers cost nothing there."""
    lock = _SHARED_RECORDS.get(database)
    return 0 if lock is None else lock.aborts


#: nx-27017's first-use races, as the client sees them: "sqlite3.Connection returned NULL",
#: and neosqlite's probe for SQLite's `jsonb()` failing with a `DatabaseError` where it
#: expects an `OperationalError` while a new collection is set up (seen once in a launch of
#: the whole platform, 2026-12-07; the probe is not cached when it fails, so a retry passes).
_NX_RACES = ("returned NULL without setting an exception", "no such function: jsonb")
#: How long the next holder waits for the server to finish a dead holder's last command.
_ORPHAN_WAIT = 30.0


async def _retry_races(operation: Callable[[], Awaitable[T]], attempts: int = 6) -> T:
    """Retry nx-27017's first-use races (`_NX_RACES`): when two requests (from any process)
    touch a database whose SQLite connection, or a collection, is just being set up, one may
    fail. The operation did nothing, so repeating it is safe."""
    for attempt in range(attempts):
        try:
            return await operation()
        except OperationFailure as error:
            if not any(race in str(error) for race in _NX_RACES) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


#: How long a transaction is retried when the client has no operation timeout (motor's limit).
_TRANSACTION_RETRY_SECONDS = 120.0


def _may_retry(error: BaseException, label: str, deadline: float) -> bool:
    return (
        isinstance(error, PyMongoError)
        and error.has_error_label(label)
        and time.monotonic() < deadline
    )


def is_duplicate_key(error: BaseException) -> bool:
    if isinstance(error, DuplicateKeyError):
        return True
    if isinstance(error, BulkWriteError):
        return all(e.get("code") == 11000 for e in error.details.get("writeErrors", []))
    return False


@dataclass(frozen=True)
class IndexSpec:
    """Indexes of one collection, created at start-up per tenant database. Without indexes
    the collection itself is created: nx-27017 ends a transaction whose read touches a
    collection that does not exist yet (commit then fails with "No session specified")."""

    collection: str
    indexes: Sequence[IndexModel] = field(default_factory=tuple)


class Storage:
    """One motor client per process; tenant-scoped databases for one service."""

    def __init__(
        self,
        url: str,
        service: str,
        indexes: Iterable[IndexSpec] = (),
        *,
        server_selection_timeout_ms: int | None = None,
    ) -> None:
        self.service = service
        # Every operation has a bounded time (a stalled database must not hang a caller):
        # the driver timeouts a URL leaves out get the defaults (`BaseServiceSettings.db_*_ms`
        # documents them; services' settings put their values into the URL).
        given = url_option_names(url)
        timeouts: dict[str, Any] = {
            name: value
            for name, value in DEFAULT_DB_TIMEOUTS_MS.items()
            if name.lower() not in given
        }
        if server_selection_timeout_ms is not None:
            timeouts["serverSelectionTimeoutMS"] = server_selection_timeout_ms
        self.client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
            url, tz_aware=True, **timeouts
        )
        self._indexes = tuple(indexes)
        self._ready: set[str] = set()
        self._serial: bool | None = None  # decided on the first use of a database
        # The cross-process locks' folder: one per server address (see `process_lock`).
        nodelist = parse_uri(url)["nodelist"]
        self._server_key = ",".join(sorted(f"{host}:{port}" for host, port in nodelist))
        self._server_ports = frozenset(int(port) for _, port in nodelist)
        self._known_tenants: set[str] = set()
        self._tenants_listed_at = float("-inf")

    @property
    def prefix(self) -> str:
        return f"wk_{self.service}_"

    def database_name(self, tenant: str) -> str:
        return f"{self.prefix}{require_slug(tenant)}"

    async def tenant_db(self, tenant: str) -> Database[dict[str, Any]]:
        """The tenant's database, its indexes ensured once per process."""
        name = self.database_name(tenant)
        db = self.client[name]
        if name not in self._ready:
            if await self._serialize_transactions():
                # Registered before anything reads it: `aborted_transactions` counts every
                # process's rollbacks from here on.
                self._process_lock(name)
            async with _catalog_lock():
                if name not in self._ready:
                    await self.ensure_indexes(db)
                    self._ready.add(name)
                    self._known_tenants.add(tenant)
        return db

    async def platform_db(self) -> Database[dict[str, Any]]:
        """Service-wide data that belongs to no tenant (e.g. identity's tenant registry)."""
        return await self.tenant_db(PLATFORM_TENANT)

    async def ensure_indexes(self, db: Database[dict[str, Any]]) -> None:
        existing: set[str] | None = None
        for spec in self._indexes:
            if spec.indexes:
                await _retry_races(
                    functools.partial(db[spec.collection].create_indexes, list(spec.indexes))
                )
                continue
            if existing is None:
                existing = set(await _retry_races(db.list_collection_names))
            if spec.collection not in existing:
                with contextlib.suppress(CollectionInvalid):  # created meanwhile
                    await _retry_races(functools.partial(db.create_collection, spec.collection))

    async def tenants(self, max_age_seconds: float = 5.0) -> list[str]:
        """Tenants that have a database for this service (the outbox relay walks these).

        Listing databases is costly on nx-27017 (and raced with database creation there), so
        the list is cached; tenants this process touched are always included."""
        now = time.monotonic()
        if now - self._tenants_listed_at >= max_age_seconds:
            async with _catalog_lock():
                names = await _retry_races(self.client.list_database_names)
            self._known_tenants |= {
                n[len(self.prefix) :] for n in names if n.startswith(self.prefix)
            }
            self._tenants_listed_at = now
        return sorted(self._known_tenants)

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except TRANSIENT_ERRORS:
            return False
        return True

    async def _serialize_transactions(self) -> bool:
        # nx-27017 runs transactions as SQLite savepoints on one connection per database: two
        # concurrent transactions on one database break its transaction state for good, from
        # one process or from two (replicas of a service). There a database's transactions
        # hold a lock per event loop and a lock across processes (`process_lock`). MongoDB
        # isolates transactions itself: no lock, replicas' transactions run in parallel.
        if self._serial is None:
            info = await self.client.admin.command("serverStatus")
            self._serial = info.get("process") == "nx_27017"
        return self._serial

    async def in_transaction(
        self, db: Database[dict[str, Any]], callback: Callable[[Session], Coroutine[Any, Any, T]]
    ) -> T:
        """Run `callback(session)` in a transaction on `db` (single-database, as MongoDB
        and nx-27017 allow), retried on transient transaction errors by the driver.
        All writes inside must pass `session=session`."""
        async with self._exclusive(db):
            return await self._run_transaction(db.name, callback)

    async def read_committed(
        self, db: Database[dict[str, Any]], read: Callable[[], Coroutine[Any, Any, T]]
    ) -> T:
        """Run `read()` so that it sees committed data only. nx-27017 lets reads see a running
        transaction's writes: there the read waits for the database's transaction lock (no
        transaction of this process is open meanwhile). MongoDB reads committed data anyway."""
        async with self._exclusive(db):
            return await read()

    def _process_lock(self, database: str) -> DatabaseLock:
        return _process_lock(lock_dir(self._server_key), database)

    @contextlib.asynccontextmanager
    async def _exclusive(self, db: Database[dict[str, Any]]) -> AsyncIterator[None]:
        """Holds the database's transaction locks on nx-27017 (this event loop's, then the
        cross-process one); nothing on MongoDB."""
        if not await self._serialize_transactions():
            yield
            return
        async with _transaction_lock(db.name):
            lock = self._process_lock(db.name)
            orphan = await lock.acquire()
            if orphan is not None:
                try:
                    await self._end_orphan(db.name, lock, orphan)
                except BaseException:
                    lock.release(leave=orphan)  # the next holder tries again
                    raise
            try:
                yield
            finally:
                lock.release()

    async def _end_orphan(self, database: str, lock: DatabaseLock, orphan: Orphan) -> None:
        """A process died holding the database's lock: whatever it was doing counts as rolled
        back (readers drop what they read meanwhile), and its unfinished transaction, which
        the server keeps open on the database's connection (later transactions would nest in
        it and never reach the disk), is ended by ending its session: the server rolls it
        back. Ending a session that has no open transaction does nothing. First the server
        must have finished the command the dead process was waiting on: ended while it runs,
        its remaining statements would run outside the transaction and stay (`dead_clients`)."""
        if not await dead_clients.until_served(orphan.pid, self._server_ports, _ORPHAN_WAIT):
            raise AutoReconnect(
                f"the database server is still finishing the commands of process {orphan.pid},"
                " which died holding the transaction lock"
            )
        lock.note_abort()
        log.warning(
            "a process died holding the database's transaction lock",
            database=database,
            pid=orphan.pid,
            open_transaction=orphan.session_id is not None,
        )
        if orphan.session_id is not None:
            await self.client.admin.command(
                "endSessions", [{"id": Binary(orphan.session_id, UUID_SUBTYPE)}]
            )

    async def _run_transaction(
        self, database: str, callback: Callable[[Session], Coroutine[Any, Any, T]]
    ) -> T:
        """motor's `with_transaction` loop, except that retries stop once the client's
        operation timeout (`timeoutMS`) has passed: motor retries transient errors for 120 s
        whatever the timeouts, so a stalled or killed database held the caller (and, on
        nx-27017, the database's transaction lock) that long."""
        # (motor's stubs declare `options` and `in_transaction`, properties, as methods)
        options = cast(ClientOptions, self.client.options)
        deadline = time.monotonic() + (options.timeout or _TRANSACTION_RETRY_SECONDS)
        attempts = 0
        shared = self._process_lock(database) if self._serial else None
        async with await self.client.start_session() as session:
            if shared is not None:  # ended by the next holder should this process die
                lsid = cast(dict[str, Any], session.session_id)
                shared.transaction_started(bytes(lsid["id"]))
            while True:
                attempts += 1
                if attempts > 1:  # the previous attempt was rolled back
                    self._note_abort(database)
                session.start_transaction()
                try:
                    result = await callback(session)
                except BaseException as error:
                    if cast(bool, session.in_transaction):
                        await session.abort_transaction()
                    if _may_retry(error, "TransientTransactionError", deadline):
                        continue
                    self._note_abort(database)
                    raise
                while True:
                    try:
                        await session.commit_transaction()
                        return result
                    except PyMongoError as error:
                        if not error.timeout and _may_retry(
                            error, "UnknownTransactionCommitResult", deadline
                        ):
                            continue
                        if _may_retry(error, "TransientTransactionError", deadline):
                            break
                        self._note_abort(database)
                        raise

    def _note_abort(self, database: str) -> None:
        if self._serial:  # only where reads outside a transaction see uncommitted writes
            self._process_lock(database).note_abort()

    def close(self) -> None:
        self.client.close()

    async def drop_tenant(self, tenant: str) -> None:
        name = self.database_name(tenant)
        await self.client.drop_database(name)
        self._ready.discard(name)
        self._known_tenants.discard(tenant)
