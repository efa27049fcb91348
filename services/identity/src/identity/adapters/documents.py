"""Domain model <-> MongoDB document: the model's id field becomes `_id`.

nx-27017 quirk (measured): a datetime written with `$set` into an existing document reads
back as a naive string ("2026-01-02 10:04:23.469000"), like booleans read back as 1/0. Reads
therefore pass through `restore_datetimes`, which turns such strings under datetime keys
(`*_at`, `at`, `auth_time`) back into aware UTC datetimes. Inserts and replacements keep
real datetimes, so range queries only ever use fields written that way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def _is_datetime_key(key: str) -> bool:
    return key == "at" or key.endswith("_at") or key == "auth_time"


def _restore(value: Any, datetime_key: bool) -> Any:
    if isinstance(value, dict):
        return restore_datetimes(value)
    if isinstance(value, list):
        return [_restore(v, datetime_key) for v in value]
    if datetime_key and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def restore_datetimes(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _restore(v, _is_datetime_key(k)) for k, v in doc.items()}


def to_doc(model: BaseModel, id_field: str) -> dict[str, Any]:
    doc = model.model_dump(mode="python")
    doc["_id"] = doc.pop(id_field)
    return doc


def from_doc(cls: type[M], doc: dict[str, Any] | None, id_field: str) -> M | None:
    if doc is None:
        return None
    data = {k: v for k, v in restore_datetimes(doc).items() if k != "_id"}
    data[id_field] = doc["_id"]
    fields = cls.model_fields
    # Extra bookkeeping fields (e.g. `erasure_requested_at`) stay in the database.
    return cls.model_validate({k: v for k, v in data.items() if k in fields})
