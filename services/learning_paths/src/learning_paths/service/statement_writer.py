"""Group commit of statement batches (`wijkkracht_common.group_commit`): requests arriving
while a write is under way are written together in the next transaction (one existence check,
one insert), each request still all or nothing on its own. Groups hold up to `MAX_GROUP`
statements (a request counts its statements).

Measured on the embedded database: a transaction of 50 statements costs ~130 µs of database
CPU per statement, one of 200-500 ~80-90 µs. Concurrent clients of the LRS (learning apps
sending batches of 50) so share the cost without waiting longer than one transaction.

A request whose statement conflicts (an id stored with other content: 409; voiding a
voiding statement: 400) fails alone; the others of its group are stored. Two requests of
one group with the same new id: the first stores it, the second is accepted when it is the
same statement (else 409) — as if they had come one after the other. When a group's
transaction fails as a whole (another process stored one of its ids first, the database
refused a document), each of its requests is written again on its own, so one request's
failure never becomes another's.

At shutdown (main.py's lifespan) new requests are refused with 503 and `Retry-After`, those
queued are written before the runtime stops: a request in flight is stored or refused, never
lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from wijkkracht_common.group_commit import GroupCommit, stopping

from learning_paths.adapters.lrs import LrsStore, StoredStatement
from learning_paths.domain.xapi import statements as rules
from learning_paths.domain.xapi.errors import XapiError
from learning_paths.domain.xapi.validation import VOIDED

#: At most this many statements per transaction (a few requests' worth).
MAX_GROUP = 1_000

Commit = Callable[[str, Callable[[Any, Any], Awaitable[tuple[Any, list[Any]]]]], Awaitable[Any]]
#: Runs in the group's transaction after the insert (activity definitions); returns what to
#: do once that transaction has committed (a retried or failed one must leave no trace).
AfterInsert = Callable[[str, LrsStore, list[dict[str, Any]]], Awaitable[Callable[[], None] | None]]


@dataclass
class Prepared:
    """One statement ready to store: as sent, as completed, as a document."""

    id: str
    sent: dict[str, Any]
    done: dict[str, Any]
    doc: dict[str, Any]


@dataclass
class Job:
    """One request's statements, stored all or nothing."""

    statements: list[Prepared]
    parts: list[tuple[str, str, bytes]]

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.statements]


@dataclass
class _Group:
    errors: list[XapiError | None] = field(default_factory=list)  # per job (None: stored)
    docs: list[dict[str, Any]] = field(default_factory=list)
    done: list[dict[str, Any]] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    parts: list[tuple[str, str, bytes]] = field(default_factory=list)


def _settle(
    jobs: list[Job], existing: dict[str, StoredStatement], known: dict[str, StoredStatement]
) -> _Group:
    """Decide each job against what is stored and what earlier jobs of the group store."""
    group = _Group()
    taken: dict[str, dict[str, Any]] = {}  # ids stored by earlier jobs of this group
    voiding: set[str] = set()  # voiding statements among them
    for job in jobs:
        error: XapiError | None = None
        docs: list[dict[str, Any]] = []
        done: list[dict[str, Any]] = []
        voided: list[str] = []
        own_voiding: set[str] = set()  # this request's own voiding statements so far
        for item in job.statements:
            stored = existing.get(item.id)
            earlier = taken.get(item.id)
            if stored is not None or earlier is not None:
                before = stored.statement if stored is not None else earlier
                assert before is not None
                if not rules.equivalent(before, item.sent):
                    error = XapiError(409, f"statement {item.id} exists with other content")
                    break
                continue
            if item.done["verb"]["id"] == VOIDED:
                target = str(item.done["object"]["id"]).lower()
                victim = known.get(target)
                if (
                    target in voiding
                    or target in own_voiding
                    or (victim is not None and victim.keys.get("voids"))
                ):
                    error = XapiError(400, "a voiding statement cannot be voided")
                    break
                voided.append(target)
                own_voiding.add(item.id)
            docs.append(item.doc)
            done.append(item.done)
        group.errors.append(error)
        if error is not None:
            continue
        for item in job.statements:
            if item.id not in taken and item.id not in existing:
                taken[item.id] = item.done
                if item.done["verb"]["id"] == VOIDED:
                    voiding.add(item.id)
        group.docs.extend(docs)
        group.done.extend(done)
        group.voided.extend(voided)
        group.parts.extend(job.parts)
    return group


def _statement_count(job: Job) -> int:
    return len(job.statements)


class StatementWriter(GroupCommit[Job, list[str]]):
    """One writer per process; groups are per tenant (each tenant has its own database)."""

    def __init__(
        self, commit: Commit, after_insert: AfterInsert, *, retry_after_seconds: int = 5
    ) -> None:
        super().__init__(
            self._write_group,
            refusal=partial(stopping, retry_after_seconds),
            max_batch=MAX_GROUP,
            size=_statement_count,
            name="lrs-writer",
        )
        self._commit = commit
        self._after_insert = after_insert

    async def write(
        self, tenant: str, statements: list[Prepared], parts: list[tuple[str, str, bytes]]
    ) -> list[str]:
        """The statements' ids once stored; raises the request's own error (409, 400, the
        database's), or 503 once the writer is closed."""
        return await self.submit(tenant, Job(statements, parts))

    async def _write_group(self, tenant: str, jobs: list[Job]) -> list[list[str] | XapiError]:
        ids = [i for job in jobs for i in job.ids]
        targets = [
            str(p.sent["object"]["id"]).lower()
            for job in jobs
            for p in job.statements
            if p.sent["verb"]["id"] == VOIDED
        ]
        # Of the transaction's last attempt (a retried transaction runs `work` again).
        errors: list[XapiError | None] = []
        after_commit: list[Callable[[], None] | None] = [None]

        async def work(db: Any, session: Any) -> tuple[None, list[Any]]:
            after_commit[0] = None
            store = LrsStore(db, session)
            existing = await store.statements_by_ids(ids)
            known = await store.statements_by_ids(targets)
            group = _settle(jobs, existing, known)
            errors[:] = group.errors
            if group.docs:
                if not await store.insert_statements(group.docs):
                    raise XapiError(409, "a statement with one of these ids was just stored")
                await store.mark_voided(group.voided)
                await store.save_attachments(group.parts)
                after_commit[0] = await self._after_insert(tenant, store, group.done)
            return None, []

        await self._commit(tenant, work)
        if after_commit[0] is not None:
            after_commit[0]()
        return [job.ids if e is None else e for job, e in zip(jobs, errors, strict=True)]
