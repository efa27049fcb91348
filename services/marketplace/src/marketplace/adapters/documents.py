"""Domain objects to stored documents and back: the only place that knows their shape.

Documents are written whole (`insert_one` / `replace_one` with their own `_id`), so stored
date-times keep their type on every engine; dates (`date`) are stored as ISO strings, enums
as their values. Times that queries compare are also kept as epoch seconds (`*_ts`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel
from wijkkracht_common.storage import restore_datetimes

M = TypeVar("M", bound=BaseModel)


def plain(value: Any) -> Any:
    """A value BSON stores as is: enums by value, dates as ISO strings, recursively."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def to_doc(model: BaseModel, doc_id: str, **extra: Any) -> dict[str, Any]:
    doc = plain(model.model_dump())
    doc.pop("id", None)
    return {"_id": doc_id, **doc, **extra}


def from_doc(cls: type[M], doc: dict[str, Any], *, id_field: str | None = "id") -> M:
    data = restore_datetimes(doc)
    doc_id = data.pop("_id")
    if id_field is not None:
        data[id_field] = doc_id
    return cls.model_validate(data)


def epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
