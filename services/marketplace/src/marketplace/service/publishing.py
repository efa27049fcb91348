"""Group commit of publications (`wijkkracht_common.group_commit`): concurrent new posts of
one tenant share one transaction.

A post's transaction held several writes (the post, its offer bucket, the volunteers'
notifications, the outbox record); a batch is one insert of the posts, one rewrite per offer
bucket they join, one insert of all notifications, one insert into the outbox, one commit.

Everything is decided before a post joins the queue (checks, the volunteers to tell, the
notifications and mail, the event rendered with `outbox.prepare` in the request's own trace
context), so the transaction only writes. If a batch fails, each post of it is retried in a
transaction of its own, so each gets its own outcome.

At shutdown (main.py's lifespan) new posts are refused with 503 and `Retry-After` before
anything is stored, and the posts already queued are committed before the runtime stops: a
post in flight is stored with its event in the outbox, or refused, never lost.

A broker's post is not queued: its access-log record carries the request's trace id and is
written in the post's own transaction (`posts.publish`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from wijkkracht_common.group_commit import MAX_BATCH, GroupCommit, stopping
from wijkkracht_common.mail import Mail
from wijkkracht_common.outbox import PreparedRecord, Staged
from wijkkracht_common.runtime import Work
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, Repository
from marketplace.domain.notifications import Notification
from marketplace.domain.posts import Post

Commit = Callable[[str, Work[None]], Awaitable[None]]
Repositories = Callable[[Db, Session | None], Repository]


@dataclass
class PendingPost:
    post: Post
    notifications: list[Notification]
    mails: list[Mail]
    records: list[PreparedRecord]  # the post's events (outbox.prepare)


class PublishQueue(GroupCommit[PendingPost, None]):
    """Per-tenant group commit of `PendingPost`s: one transaction per batch."""

    def __init__(
        self,
        commit: Commit,
        repositories: Repositories,
        *,
        max_batch: int = MAX_BATCH,
        retry_after_seconds: int = 5,
    ) -> None:
        super().__init__(
            self._write_posts,
            refusal=partial(stopping, retry_after_seconds),
            max_batch=max_batch,
            name="posts",
        )
        self._commit = commit
        self._repositories = repositories

    async def _write_posts(self, tenant: str, batch: list[PendingPost]) -> list[None]:
        async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
            r = self._repositories(db, session)
            await r.add_posts([i.post for i in batch])
            await r.add_notifications([n for i in batch for n in i.notifications])
            await r.stage_mails([message for i in batch for message in i.mails])
            return None, [record for i in batch for record in i.records]

        await self._commit(tenant, work)
        return [None] * len(batch)


__all__ = ["MAX_BATCH", "PendingPost", "PublishQueue"]
