"""Use cases without a database: the repository is an in-memory fake, the runtime's commit
runs the work directly (model: cosmicpython's tests/unit/test_handlers.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from learning_paths.domain.bookmarks import Bookmark
from learning_paths.service import bookmarks
from learning_paths.service.context import Context
from learning_paths.settings import Settings
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound


class FakeBookmarks:
    def __init__(self, store: dict[str, Bookmark]) -> None:
        self.store = store

    async def add(self, bookmark: Bookmark) -> None:
        self.store[bookmark.id] = bookmark

    async def get(self, bookmark_id: str) -> Bookmark | None:
        return self.store.get(bookmark_id)

    async def of_person(self, person_id: str) -> list[Bookmark]:
        return [b for b in self.store.values() if b.person_id == person_id]

    async def delete_of_person(self, person_id: str) -> int:
        gone = [k for k, b in self.store.items() if b.person_id == person_id]
        for key in gone:
            del self.store[key]
        return len(gone)


class FakeStorage:
    async def tenant_db(self, tenant: str) -> str:
        return tenant  # the fake repository factory keys its stores by it


class FakeRuntime:
    def __init__(self) -> None:
        self.storage = FakeStorage()
        self.staged: list[Any] = []

    async def commit(
        self, tenant: str, work: Callable[[Any, Any], Awaitable[tuple[Any, Sequence[Any]]]]
    ) -> Any:
        result, events = await work(tenant, None)
        self.staged.extend(events)
        return result


@pytest.fixture
def ctx() -> Context:
    stores: dict[str, dict[str, Bookmark]] = {}
    return Context(
        runtime=FakeRuntime(),
        settings=Settings(env="test"),  # type: ignore[arg-type]
        bookmarks=lambda db, _session: FakeBookmarks(stores.setdefault(db, {})),
    )


def resident(person: str, tenant: str = "t1") -> Principal:
    return Principal(subject=person, tenant=tenant, roles=frozenset({"resident"}))


async def test_a_resident_reads_their_own_bookmark(ctx: Context) -> None:
    made = await bookmarks.create(ctx, resident("p1"), title="Wandelgroep")
    assert (await bookmarks.read(ctx, resident("p1"), made.id)).title == "Wandelgroep"


async def test_another_resident_or_tenant_gets_not_found(ctx: Context) -> None:
    made = await bookmarks.create(ctx, resident("p1"), title="Koffieochtend")
    with pytest.raises(NotFound):
        await bookmarks.read(ctx, resident("p2"), made.id)
    with pytest.raises(NotFound):
        await bookmarks.read(ctx, resident("p1", tenant="t2"), made.id)


async def test_a_machine_client_has_no_bookmarks(ctx: Context) -> None:
    with pytest.raises(NotFound):
        await bookmarks.create(ctx, Principal(subject="client:c1", tenant="t1"), title="x")
