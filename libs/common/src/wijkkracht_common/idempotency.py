"""`Idempotency-Key` for creating POSTs (architecture §5).

The first request with a key stores its response; a retry with the same key and the same
body gets that response again; the same key with a different body is refused (422), and a
retry while the first is still running gets 409 with `Retry-After`, then the first result
once the first has completed. Keys are scoped by caller and route and expire after 24 hours.

A running first request holds the key for a lease (`lease_seconds`, far longer than a request
can take while the driver timeouts bound it). When the first fails, it frees the key; when it
cannot (the database went away meanwhile), the key is free again once the lease has run out,
so a retry after an outage runs instead of getting 409 for a day. If the first did change
state before failing to record its result, such a retry runs again: the same risk as any
request whose outcome the client never learnt.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from wijkkracht_common.errors import Conflict, InvalidInput, field_error
from wijkkracht_common.observability import get_logger
from wijkkracht_common.storage import (
    ASCENDING,
    TRANSIENT_ERRORS,
    Database,
    DuplicateKeyError,
    IndexModel,
    IndexSpec,
    stored_datetime,
)

IDEMPOTENCY = "idempotency_keys"
IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_INDEXES = IndexSpec(
    IDEMPOTENCY, (IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),)
)
#: How long a running first request holds its key (seconds).
IDEMPOTENCY_LEASE_SECONDS = 120.0
#: `Retry-After` (seconds) of the 409 answered while the first request is still running.
IN_PROGRESS_RETRY_AFTER_SECONDS = 1

log = get_logger(__name__)

Producer = Callable[[], Awaitable[tuple[int, Any]]]


def fingerprint(body: Any) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, default=str, separators=(",", ":")).encode()
    ).hexdigest()


async def idempotent(
    db: Database[dict[str, Any]],
    *,
    key: str | None,
    scope: str,
    body: Any,
    produce: Producer,
    lease_seconds: float = IDEMPOTENCY_LEASE_SECONDS,
    shown_once: Sequence[str] = (),
) -> JSONResponse:
    """Run `produce()` once per (scope, key); `produce` returns (status, JSON body).
    `shown_once`: top-level fields of the body that only the first answer carries (a one-time
    login code): the stored replay has them as null, so no secret waits 24 h in the store."""
    if key is None:
        status, content = await produce()
        return JSONResponse(content, status_code=status)
    if not 1 <= len(key) <= 200:
        raise InvalidInput(
            "Idempotency-Key moet 1-200 tekens zijn. / Idempotency-Key must be 1-200 characters.",
            errors=[field_error("header.idempotency-key", "length 1-200")],
        )
    doc_id = f"{scope}:{key}"
    digest = fingerprint(body)
    attempt = uuid.uuid4().hex
    owned = await _claim(db, doc_id, digest, attempt, lease_seconds)
    while not owned:
        existing = await db[IDEMPOTENCY].find_one({"_id": doc_id})
        if existing is None:  # expired, or freed by a failed first, meanwhile
            owned = await _claim(db, doc_id, digest, attempt, lease_seconds)
            continue
        replay = _stored_result(existing, digest)
        if replay is not None:
            return replay
        if _lease_until(existing, lease_seconds) > time.time() or not await _take_over(
            db, existing, attempt, lease_seconds
        ):
            raise Conflict(
                "Het eerste verzoek met deze sleutel loopt nog. / The first request with this "
                "key is still in progress.",
                kind="idempotency-in-progress",
                headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER_SECONDS)},
            )
        owned = True
    try:
        status, content = await produce()
    except BaseException:
        await _release(db, doc_id, attempt)
        raise
    try:
        stored = (
            {k: (None if k in shown_once else v) for k, v in content.items()}
            if shown_once and isinstance(content, dict)
            else content
        )
        await db[IDEMPOTENCY].update_one(
            {"_id": doc_id}, {"$set": {"state": "done", "status": status, "body": stored}}
        )
    except TRANSIENT_ERRORS as error:
        # The change is made; the caller gets its result. A retry with this key after the
        # lease would run again (the database cannot say otherwise now).
        log.warning("idempotency result not recorded", key=doc_id, error=type(error).__name__)
    return JSONResponse(content, status_code=status)


async def _claim(
    db: Database[dict[str, Any]], doc_id: str, digest: str, attempt: str, lease_seconds: float
) -> bool:
    """Record the key as running for this attempt; False when the key is taken."""
    now = datetime.now(UTC)
    try:
        await db[IDEMPOTENCY].insert_one(
            {
                "_id": doc_id,
                "fingerprint": digest,
                "state": "running",
                "attempt": attempt,
                # an epoch number: nx-27017 stores a datetime written with $set as a string
                "lease_until": time.time() + lease_seconds,
                "created_at": now,
                "expires_at": now + IDEMPOTENCY_TTL,
            }
        )
    except DuplicateKeyError:
        return False
    return True


def _stored_result(record: dict[str, Any], digest: str) -> JSONResponse | None:
    """The first request's result (None while it runs); 422 for another body."""
    if record["fingerprint"] != digest:
        raise InvalidInput(
            "Deze Idempotency-Key hoort bij een ander verzoek. / This Idempotency-Key was "
            "used for a different request.",
            kind="idempotency-key-reused",
        )
    if record["state"] != "done":
        return None
    return JSONResponse(
        record["body"], status_code=record["status"], headers={"Idempotent-Replay": "true"}
    )


def _lease_until(record: dict[str, Any], lease_seconds: float) -> float:
    lease = record.get("lease_until")
    if isinstance(lease, int | float):
        return float(lease)
    # a record written before leases: its lease runs from its creation
    created = stored_datetime(record.get("created_at"))
    return created.timestamp() + lease_seconds if created is not None else 0.0


async def _take_over(
    db: Database[dict[str, Any]], record: dict[str, Any], attempt: str, lease_seconds: float
) -> bool:
    """Claim a running key whose lease ran out; only one of several retries wins."""
    result = await db[IDEMPOTENCY].update_one(
        {"_id": record["_id"], "state": "running", "attempt": record.get("attempt")},
        {"$set": {"attempt": attempt, "lease_until": time.time() + lease_seconds}},
    )
    return result.modified_count == 1


async def _release(db: Database[dict[str, Any]], doc_id: str, attempt: str) -> None:
    """Free the key after a failed first attempt (unless another attempt took it over)."""
    try:
        await db[IDEMPOTENCY].delete_one({"_id": doc_id, "attempt": attempt})
    except TRANSIENT_ERRORS as error:
        # The database went away: the lease frees the key later. Keep the original error.
        log.warning("idempotency key not released", key=doc_id, error=type(error).__name__)


def idempotency_key(request: Request) -> str | None:
    return request.headers.get("idempotency-key")
