"""Group commit of publications: concurrent new posts of one tenant share one transaction.

Why: where the database runs one transaction per database at a time (the embedded engine;
`Storage` serialises them there), a transaction per post caps publishing at the database's
raw transaction rate, and a post's transaction held several writes (the post, its offer
bucket, the volunteers' notifications, the outbox record). Here the first post of a tenant
starts a transaction at once (no added latency when idle); posts arriving while it runs queue
up and go together in the next one: one insert of the posts, one rewrite per offer bucket
they join, one insert of all notifications, one insert into the outbox, one commit
(`questionnaires`' group commit of submits is the model). Nothing is acknowledged before its
transaction committed.

Everything is decided before a post joins the queue (checks, the volunteers to tell, the
notifications and mail, the event rendered with `outbox.prepare` in the request's own trace
context), so the transaction only writes. If a batch fails, each post of it is retried in a
transaction of its own, so each gets its own outcome.

A broker's post is not queued: its access-log record carries the request's trace id and is
written in the post's own transaction (`posts.publish`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from wijkkracht_common.mail import Mail
from wijkkracht_common.outbox import PreparedRecord, Staged
from wijkkracht_common.runtime import Work
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, Repository
from marketplace.domain.notifications import Notification
from marketplace.domain.posts import Post

MAX_BATCH = 64

Commit = Callable[[str, Work[None]], Awaitable[None]]
Repositories = Callable[[Db, Session | None], Repository]


@dataclass
class PendingPost:
    post: Post
    notifications: list[Notification]
    mails: list[Mail]
    records: list[PreparedRecord]  # the post's events (outbox.prepare)
    future: asyncio.Future[None] = field(init=False)

    def __post_init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()


class PublishQueue:
    """Per-tenant group commit of `PendingPost`s: one transaction per batch."""

    def __init__(
        self, commit: Commit, repositories: Repositories, *, max_batch: int = MAX_BATCH
    ) -> None:
        self._commit = commit
        self._repositories = repositories
        self._max_batch = max_batch
        self._pending: dict[str, list[PendingPost]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.transactions = 0  # for the benchmark and tests: batches committed or tried

    async def publish(self, tenant: str, item: PendingPost) -> None:
        """Returns once the post is committed; raises the error of its own transaction."""
        self._pending.setdefault(tenant, []).append(item)
        if tenant not in self._tasks:
            self._tasks[tenant] = asyncio.create_task(self._drain(tenant), name=f"posts-{tenant}")
        await asyncio.shield(item.future)

    async def wait_idle(self) -> None:
        """Returns when every queued post has been committed or refused."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def _drain(self, tenant: str) -> None:
        try:
            while queue := self._pending.get(tenant):
                batch, rest = queue[: self._max_batch], queue[self._max_batch :]
                if rest:
                    self._pending[tenant] = rest
                else:
                    del self._pending[tenant]
                await self._run(tenant, batch)
        finally:
            del self._tasks[tenant]
            for item in self._pending.pop(tenant, []):  # only when cancelled at shutdown
                item.future.cancel()

    async def _run(self, tenant: str, batch: list[PendingPost]) -> None:
        self.transactions += 1
        try:
            await self._commit(tenant, self._work(batch))
        except asyncio.CancelledError:
            for item in batch:
                item.future.cancel()
            raise
        except Exception as error:  # noqa: BLE001 - isolate: each post on its own
            if len(batch) > 1:
                for item in batch:
                    await self._run(tenant, [item])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(error)
            return
        for item in batch:
            if not item.future.done():
                item.future.set_result(None)

    def _work(self, batch: list[PendingPost]) -> Work[None]:
        async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
            r = self._repositories(db, session)
            await r.add_posts([i.post for i in batch])
            await r.add_notifications([n for i in batch for n in i.notifications])
            for item in batch:
                for message in item.mails:
                    await r.stage_mail(message)
            return None, [record for i in batch for record in i.records]

        return work


__all__ = ["MAX_BATCH", "PendingPost", "PublishQueue"]
