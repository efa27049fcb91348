"""Use cases: load, decide (domain), save through `runtime.commit`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Database, Session

from learning_paths.domain.bookmarks import Bookmark, may_read
from learning_paths.service.context import Context


def _not_found() -> NotFound:
    return NotFound("Bladwijzer niet gevonden. / Bookmark not found.")


async def create(ctx: Context, principal: Principal, *, title: str) -> Bookmark:
    if principal.person_id is None:
        raise _not_found()  # a machine client has no bookmarks
    bookmark = Bookmark(
        id=new_event_id(), person_id=principal.person_id, title=title, created_at=datetime.now(UTC)
    )

    async def work(db: Database[dict[str, Any]], session: Session) -> tuple[Bookmark, list[Staged]]:
        await ctx.bookmarks(db, session).add(bookmark)
        return bookmark, []  # events would be staged here, in the same transaction

    return await ctx.runtime.commit(principal.tenant, work)


async def read(ctx: Context, principal: Principal, bookmark_id: str) -> Bookmark:
    db = await ctx.runtime.storage.tenant_db(principal.tenant)
    bookmark = await ctx.bookmarks(db, None).get(bookmark_id)
    if bookmark is None or not may_read(bookmark, principal.person_id):
        raise _not_found()
    return bookmark
