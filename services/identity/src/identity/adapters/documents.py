"""Domain model <-> MongoDB document: the model's id field becomes `_id`."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def to_doc(model: BaseModel, id_field: str) -> dict[str, Any]:
    doc = model.model_dump(mode="python")
    doc["_id"] = doc.pop(id_field)
    return doc


def from_doc(cls: type[M], doc: dict[str, Any] | None, id_field: str) -> M | None:
    if doc is None:
        return None
    data = {k: v for k, v in doc.items() if k != "_id"}
    data[id_field] = doc["_id"]
    fields = cls.model_fields
    # Extra bookkeeping fields (e.g. `updated_at`) stay in the database, not in the model.
    return cls.model_validate({k: v for k, v in data.items() if k in fields})
