"""Cursor pagination (`?limit=&cursor=` → `{items, next_cursor}`), limit capped.

Keyset pagination on one sort field plus `_id` as tie-break: stable under inserts, no skips.
The cursor is opaque to clients (base64url JSON of the last row's sort values).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from wijkkracht_common.errors import InvalidInput, field_error
from wijkkracht_common.storage import ASCENDING, DESCENDING, Collection

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size (max 100)")]
CursorParam = Annotated[str | None, Query(max_length=512, description="from next_cursor")]


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    return str(value)


def _hook(obj: dict[str, Any]) -> Any:
    if set(obj) == {"$dt"}:
        return datetime.fromisoformat(obj["$dt"])
    return obj


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, default=_default, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded), object_hook=_hook)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(
            "Ongeldige cursor. / Invalid cursor.",
            errors=[field_error("query.cursor", "malformed cursor")],
        ) from error
    if not isinstance(value, dict):
        raise InvalidInput(
            "Ongeldige cursor. / Invalid cursor.",
            errors=[field_error("query.cursor", "malformed cursor")],
        )
    return value


async def paginate(
    collection: Collection[dict[str, Any]],
    filter_: dict[str, Any],
    *,
    limit: int,
    cursor: str | None,
    sort_field: str = "_id",
    descending: bool = False,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of documents and the cursor of the next page (None at the end)."""
    limit = max(1, min(limit, MAX_LIMIT))
    direction = DESCENDING if descending else ASCENDING
    op = "$lt" if descending else "$gt"
    query = dict(filter_)
    if cursor:
        after = decode_cursor(cursor)
        if "id" not in after or (sort_field != "_id" and "v" not in after):
            raise InvalidInput(
                "Ongeldige cursor. / Invalid cursor.",
                errors=[field_error("query.cursor", "malformed cursor")],
            )
        if sort_field == "_id":
            query = {"$and": [filter_, {"_id": {op: after["id"]}}]}
        else:
            query = {
                "$and": [
                    filter_,
                    {
                        "$or": [
                            {sort_field: {op: after["v"]}},
                            {sort_field: after["v"], "_id": {op: after["id"]}},
                        ]
                    },
                ]
            }
    sort = (
        [(sort_field, direction)]
        if sort_field == "_id"
        else [
            (sort_field, direction),
            ("_id", direction),
        ]
    )
    docs = (
        await collection.find(query, projection=projection)
        .sort(sort)
        .limit(limit + 1)
        .to_list(None)
    )
    next_cursor = None
    if len(docs) > limit:
        docs = docs[:limit]
        last = docs[-1]
        marker: dict[str, Any] = {"id": last["_id"]}
        if sort_field != "_id":
            marker["v"] = last.get(sort_field)
        next_cursor = encode_cursor(marker)
    return docs, next_cursor
