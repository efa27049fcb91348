"""Domain model <-> stored document: the model's id field becomes `_id`.

Reads go through `wijkkracht_common.storage.restore_datetimes`, the engine-neutral reader of
stored date-times (an engine may hand back a date-time written with `$set` as a naive string).
Documents whose date-times are queried by range are inserted or replaced whole, never `$set`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from wijkkracht_common.storage import restore_datetimes

M = TypeVar("M", bound=BaseModel)


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


def without_id(cls: type[M], doc: dict[str, Any]) -> M:
    """A model whose stored `_id` is derived from its fields (teams, memberships)."""
    return cls.model_validate({k: v for k, v in restore_datetimes(doc).items() if k != "_id"})
