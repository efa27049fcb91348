"""`Idempotency-Key` for creating POSTs (architecture §5).

The first request with a key stores its response; a retry with the same key and the same
body gets that response again; the same key with a different body is refused (422), and a
retry while the first is still running gets 409. Keys are scoped by caller and route and
expire after 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from wijkkracht_common.errors import Conflict, InvalidInput, field_error
from wijkkracht_common.storage import (
    ASCENDING,
    Database,
    DuplicateKeyError,
    IndexModel,
    IndexSpec,
)

IDEMPOTENCY = "idempotency_keys"
IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_INDEXES = IndexSpec(
    IDEMPOTENCY, (IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),)
)

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
) -> JSONResponse:
    """Run `produce()` once per (scope, key); `produce` returns (status, JSON body)."""
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
    now = datetime.now(UTC)
    try:
        await db[IDEMPOTENCY].insert_one(
            {
                "_id": doc_id,
                "fingerprint": digest,
                "state": "running",
                "created_at": now,
                "expires_at": now + IDEMPOTENCY_TTL,
            }
        )
    except DuplicateKeyError:
        existing = await db[IDEMPOTENCY].find_one({"_id": doc_id})
        if existing is None:  # expired between insert and read: treat as new
            return await idempotent(db, key=key, scope=scope, body=body, produce=produce)
        if existing["fingerprint"] != digest:
            raise InvalidInput(
                "Deze Idempotency-Key hoort bij een ander verzoek. / This Idempotency-Key was "
                "used for a different request.",
                kind="idempotency-key-reused",
            ) from None
        if existing["state"] != "done":
            raise Conflict(
                "Het eerste verzoek met deze sleutel loopt nog. / The first request with this "
                "key is still in progress.",
                kind="idempotency-in-progress",
            ) from None
        return JSONResponse(
            existing["body"], status_code=existing["status"], headers={"Idempotent-Replay": "true"}
        )
    try:
        status, content = await produce()
    except BaseException:
        await db[IDEMPOTENCY].delete_one({"_id": doc_id})
        raise
    await db[IDEMPOTENCY].update_one(
        {"_id": doc_id}, {"$set": {"state": "done", "status": status, "body": content}}
    )
    return JSONResponse(content, status_code=status)


def idempotency_key(request: Request) -> str | None:
    return request.headers.get("idempotency-key")
