"""Persistence: the only module that reads or writes this service's collections. It takes
and returns domain objects; the service layer never sees a raw document."""

from __future__ import annotations

from typing import Any, Protocol

from wijkkracht_common.storage import (
    ASCENDING,
    Database,
    IndexModel,
    IndexSpec,
    Session,
    restore_datetimes,
)

from learning_paths.domain.bookmarks import Bookmark

BOOKMARKS = "bookmarks"

INDEXES: tuple[IndexSpec, ...] = (IndexSpec(BOOKMARKS, (IndexModel([("person_id", ASCENDING)]),)),)


class Bookmarks(Protocol):
    """What the service layer needs; `MongoBookmarks` here, an in-memory fake in unit tests."""

    async def add(self, bookmark: Bookmark) -> None: ...
    async def get(self, bookmark_id: str) -> Bookmark | None: ...
    async def of_person(self, person_id: str) -> list[Bookmark]: ...
    async def delete_of_person(self, person_id: str) -> int: ...


def _doc(bookmark: Bookmark) -> dict[str, Any]:
    doc = bookmark.model_dump()
    doc["_id"] = doc.pop("id")
    return doc


def _bookmark(doc: dict[str, Any]) -> Bookmark:
    data = restore_datetimes(doc)
    return Bookmark.model_validate({**data, "id": data.pop("_id")})


class MongoBookmarks:
    """Bookmarks of one tenant's database, optionally inside a transaction."""

    def __init__(self, db: Database[dict[str, Any]], session: Session | None = None) -> None:
        self._coll = db[BOOKMARKS]
        self._session = session

    async def add(self, bookmark: Bookmark) -> None:
        await self._coll.insert_one(_doc(bookmark), session=self._session)

    async def get(self, bookmark_id: str) -> Bookmark | None:
        doc = await self._coll.find_one({"_id": bookmark_id}, session=self._session)
        return None if doc is None else _bookmark(doc)

    async def of_person(self, person_id: str) -> list[Bookmark]:
        cursor = self._coll.find({"person_id": person_id}, session=self._session)
        return [_bookmark(doc) async for doc in cursor.sort("_id", ASCENDING)]

    async def delete_of_person(self, person_id: str) -> int:
        result = await self._coll.delete_many({"person_id": person_id}, session=self._session)
        return int(result.deleted_count)
