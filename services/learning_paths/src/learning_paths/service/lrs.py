"""The learning record store's statement use cases: store (PUT, POST, with attachments and
signatures, voiding), read one, query with the standard filters and `more` paging.

Who sees what: statements are the tenant's (each tenant has its own database). A machine
client of the tenant reads and writes all of them; a person (resident or staff member) writes
statements about themselves only (actor = their account) and reads only those (others: 404),
so one query answers "what did this person do" without showing anyone else's learning.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wijkkracht_common import access_log
from wijkkracht_common.auth import Principal

from learning_paths.adapters.lrs import (
    CLOCK,
    LrsStore,
    StoredStatement,
    activity_key,
    document_of,
    stored_at,
    time_seq,
)
from learning_paths.domain.xapi import multipart
from learning_paths.domain.xapi import statements as rules
from learning_paths.domain.xapi.errors import XapiError
from learning_paths.domain.xapi.statements import person_of
from learning_paths.domain.xapi.validation import check_statement
from learning_paths.service.context import SERVICE, Context
from learning_paths.service.statement_writer import Prepared, StatementWriter

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
REF_SCAN_LIMIT = 10_000


@dataclass(frozen=True)
class Caller:
    principal: Principal
    agent: dict[str, Any]  # the caller as an xAPI Agent (the authority of what they store)
    person: str | None  # a person: their own statements only; None: a machine client

    @property
    def tenant(self) -> str:
        return self.principal.tenant


def caller_of(principal: Principal, home_page: str) -> Caller:
    agent = {
        "objectType": "Agent",
        "account": {"homePage": home_page, "name": principal.subject},
    }
    return Caller(principal, agent, principal.person_id)


@dataclass
class Incoming:
    """Statements of one request, with the attachment parts that came with them."""

    statements: list[dict[str, Any]]
    parts: dict[str, multipart.Part] = field(default_factory=dict)
    batch: bool = False  # the body was an array


def _check_attachments(incoming: Incoming) -> list[tuple[str, str, bytes]]:
    """Every attachment without a fileUrl has its part, every part is used, hashes match;
    signatures are checked. Returns (sha2, content type, content) to store."""
    wanted: dict[str, str] = {}
    for statement in incoming.statements:
        for attachment in statement.get("attachments") or []:
            sha2 = str(attachment["sha2"]).lower()
            if sha2 in incoming.parts:
                wanted[sha2] = str(attachment["contentType"])
            elif "fileUrl" not in attachment:
                raise XapiError(400, f"attachment {sha2} is neither sent nor at a fileUrl")
        for signature in rules.signature_attachments(statement):
            sha2 = str(signature["sha2"]).lower()
            if signature.get("contentType") != "application/octet-stream":
                raise XapiError(400, "a signature attachment is application/octet-stream")
            part = incoming.parts.get(sha2)
            if part is None:
                raise XapiError(400, "a signed statement must carry its signature")
            rules.check_signature(statement, part.body)
    extra = sorted(set(incoming.parts) - set(wanted))
    if extra:
        raise XapiError(400, f"a part ({extra[0]}) belongs to no attachment")
    stored = []
    for sha2, content_type in sorted(wanted.items()):
        content = incoming.parts[sha2].body
        if not multipart.digest_matches(sha2, content):
            raise XapiError(400, f"the part {sha2} does not match its hash")
        stored.append((sha2, content_type, content))
    return stored


class Lrs:
    """Statement use cases over the tenant's store (one per service: it owns the clock)."""

    def __init__(self, ctx: Context, home_page: str) -> None:
        self.ctx = ctx
        self.home_page = home_page
        self.clock = CLOCK
        self.writer = StatementWriter(
            ctx.runtime.commit,
            self._update_definitions,
            retry_after_seconds=ctx.settings.unavailable_retry_after_seconds,
        )
        self._definitions: dict[tuple[str, str], int] = {}  # (tenant, activity) → hash

    async def log_reads(self, caller: Caller, persons: set[str], resource: str) -> None:
        """A machine client reading residents' learning records: one access-log record per
        resident (NEN 7513), on behalf of the client's organisation. A person reads only
        their own records (nothing to log)."""
        if caller.person is not None or not persons:
            return
        organisation = next(iter(sorted(caller.principal.orgs)), None)

        async def work(db: Any, session: Any) -> tuple[None, list[Any]]:
            for person in sorted(persons):
                await access_log.record_access(
                    db,
                    service=SERVICE,
                    principal=caller.principal,
                    resident=person,
                    action="read",
                    resource=resource,
                    reason="xapi",
                    on_behalf_of=organisation,
                    session=session,
                )
            return None, []

        await self.ctx.runtime.commit(caller.tenant, work)

    # writing ---------------------------------------------------------------------------------

    async def store(
        self, caller: Caller, incoming: Incoming, *, statement_id: str | None = None
    ) -> list[str]:
        """Validate and store a batch, all or nothing. A statement whose id is stored
        already is accepted once more only if it is the same statement (else 409)."""
        if not incoming.statements:
            raise XapiError(400, "no statements given")
        for statement in incoming.statements:
            check_statement(statement)
        if statement_id is not None:
            given = incoming.statements[0].get("id")
            if given is not None and str(given).lower() != statement_id.lower():
                raise XapiError(400, "the statement's id differs from statementId")
            incoming.statements[0]["id"] = statement_id
        ids: list[str] = []
        for statement in incoming.statements:
            statement.setdefault("id", str(uuid.uuid4()))
            ids.append(str(statement["id"]).lower())
        if len(set(ids)) != len(ids):
            raise XapiError(400, "a batch uses one statement id more than once")
        if caller.person is not None:
            for statement in incoming.statements:
                if person_of(statement.get("actor"), self.home_page) != caller.person:
                    raise XapiError(403, "a person stores statements about themselves only")
        parts = _check_attachments(incoming)
        seqs = self.clock.take(len(incoming.statements))
        ticket = self.clock.begin(seqs[0])
        try:
            return await self._commit(caller, incoming.statements, ids, seqs, parts)
        finally:
            self.clock.end(ticket)

    async def _commit(
        self,
        caller: Caller,
        statements: list[dict[str, Any]],
        ids: list[str],
        seqs: list[int],
        parts: list[tuple[str, str, bytes]],
    ) -> list[str]:
        """Complete the statements and build their documents here, then hand them to the
        group writer (service/statement_writer.py): concurrent requests share a transaction,
        and nothing but reads and writes happens while it holds the database."""
        prepared = []
        for statement, sid, seq in zip(statements, ids, seqs, strict=True):
            stored = stored_at(seq)
            done = rules.complete(
                statement, statement_id=sid, stored=stored, authority=caller.agent
            )
            prepared.append(Prepared(sid, statement, done, document_of(done, seq, self.home_page)))
        return await self.writer.write(caller.tenant, prepared, parts)

    async def _update_definitions(
        self, tenant: str, store: LrsStore, statements: Sequence[Mapping[str, Any]]
    ) -> Callable[[], None] | None:
        """Canonical activity definitions: merged from every statement that defines one
        (skipped when a definition repeats one already merged in this process). Returns what
        remembers them as merged, for after the commit: a rolled-back merge is done again."""
        incoming: dict[str, list[Mapping[str, Any]]] = {}
        marks: dict[tuple[str, str], int] = {}
        for statement in statements:
            for activity in rules.activities_with_definitions(statement):
                definition = activity.get("definition")
                if not isinstance(definition, dict):
                    continue
                marker = hash(repr(sorted(definition.items())))
                key = (tenant, str(activity["id"]))
                if marks.get(key, self._definitions.get(key)) == marker:
                    continue
                incoming.setdefault(str(activity["id"]), []).append(definition)
                marks[key] = marker
        if not incoming:
            return None
        current = await store.definitions(sorted(incoming))
        for activity_id, definitions in incoming.items():
            merged = current.get(activity_id)
            for definition in definitions:
                merged = rules.merge_definition(merged, definition)
            assert merged is not None
            await store.save_definition(activity_id, merged)
        return lambda: self._definitions.update(marks)

    # reading ---------------------------------------------------------------------------------

    async def one(self, caller: Caller, statement_id: str, *, voided: bool) -> StoredStatement:
        db = await self.ctx.runtime.storage.tenant_db(caller.tenant)
        found = (await LrsStore(db).statements_by_ids([statement_id])).get(statement_id.lower())
        if found is None or found.voided != voided:
            raise XapiError(404, "no such statement")
        if caller.person is not None and caller.person not in _owner_of(found, self.home_page):
            raise XapiError(404, "no such statement")
        return found

    async def definitions(self, tenant: str, activity_ids: Sequence[str]) -> dict[str, Any]:
        db = await self.ctx.runtime.storage.tenant_db(tenant)
        return await LrsStore(db).definitions(activity_ids)

    async def attachments(self, tenant: str, hashes: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        db = await self.ctx.runtime.storage.tenant_db(tenant)
        return await LrsStore(db).attachments(hashes)

    async def query(
        self, caller: Caller, query: StatementQuery
    ) -> tuple[list[StoredStatement], int | None]:
        """One page of statements and the seq to continue from (None: no more)."""
        db = await self.ctx.runtime.storage.tenant_db(caller.tenant)
        store = LrsStore(db)
        owner = caller.person
        limit = query.limit
        low, high = query.bounds()
        found: dict[str, StoredStatement] = {}
        for condition in query.conditions(owner):
            for item in await store.page(
                condition, low=low, high=high, descending=not query.ascending, limit=limit + 1
            ):
                found[item.id] = item
        if query.filters_statements:
            refs = await store.refs(low=low, high=high, owner=owner, limit=REF_SCAN_LIMIT)
            for ref in refs:
                if ref.voided or ref.id in found:
                    continue
                if await self._targets_match(store, ref, query):
                    found[ref.id] = ref
        ordered = sorted(found.values(), key=lambda s: s.seq, reverse=not query.ascending)
        if len(ordered) > limit:
            return ordered[:limit], ordered[limit - 1].seq
        return ordered, None

    async def _targets_match(
        self, store: LrsStore, ref: StoredStatement, query: StatementQuery
    ) -> bool:
        seen: set[str] = set()
        current = ref
        while current.keys.get("ref") and current.keys["ref"] not in seen:
            seen.add(current.keys["ref"])
            target = (await store.statements_by_ids([current.keys["ref"]])).get(current.keys["ref"])
            if target is None:
                return False
            if query.matches(target.keys):
                return True
            current = target
        return False


def _owner_of(found: StoredStatement, home_page: str) -> set[str]:
    person = person_of(found.statement.get("actor"), home_page)
    return {person} if person else set()


@dataclass
class StatementQuery:
    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    ascending: bool = False
    cursor: int | None = None

    @property
    def filters_statements(self) -> bool:
        return any((self.agent, self.verb, self.activity, self.registration))

    def bounds(self) -> tuple[int | None, int | None]:
        low = time_seq(self.since) if self.since else None
        high = time_seq(self.until) if self.until else None
        if self.cursor is not None:
            if self.ascending:
                low = max(low or 0, self.cursor + 1)
            else:
                high = min(high, self.cursor) if high is not None else self.cursor
        return low, high

    def conditions(self, owner: str | None) -> list[dict[str, Any]]:
        """Alternatives (OR) of equality conditions (AND), each served by one index where
        the query is common (agent and activity together: `aa`)."""
        base: dict[str, Any] = {"voided": 0}
        if owner:
            base["owner"] = owner
        if self.verb:
            base["verb"] = self.verb
        if self.registration:
            base["reg"] = self.registration.lower()
        agent_alternatives: list[dict[str, Any]] = [{}]
        if self.agent:
            agent_alternatives = [{"actor": self.agent}, {"oagent": self.agent}]
            if self.related_agents:
                agent_alternatives += [{"auth": self.agent}, {"rel": {"$in": [self.agent]}}]
        activity_alternatives: list[dict[str, Any]] = [{}]
        if self.activity:
            activity_alternatives = [{"act": self.activity}]
            if self.related_activities:
                activity_alternatives.append({"rel": {"$in": [activity_key(self.activity)]}})
        found: list[dict[str, Any]] = []
        for by_agent in agent_alternatives:
            for by_activity in activity_alternatives:
                if "oagent" in by_agent and "act" in by_activity:
                    continue  # the object is an agent or an activity, never both
                if "rel" in by_agent and "rel" in by_activity:
                    condition = {
                        **base,
                        "$and": [{"rel": by_agent["rel"]}, {"rel": by_activity["rel"]}],
                    }
                elif by_agent.keys() == {"actor"} and by_activity.keys() == {"act"}:
                    condition = {**base, "aa": f"{self.agent}\x1f{self.activity}"}
                else:
                    condition = {**base, **by_agent, **by_activity}
                found.append(condition)
        return found

    def matches(self, keys: Mapping[str, Any]) -> bool:
        """Whether a stored statement's keys meet the filters (for StatementRef targets)."""
        if self.verb and keys.get("verb") != self.verb:
            return False
        if self.registration and keys.get("reg") != self.registration.lower():
            return False
        related = set(keys.get("rel") or ())
        activity_related = self.related_activities and (activity_key(str(self.activity)) in related)
        if self.activity and keys.get("act") != self.activity and not activity_related:
            return False
        if self.agent and self.agent not in (keys.get("actor"), keys.get("oagent")):
            direct = self.agent == keys.get("auth") or self.agent in related
            if not self.related_agents or not direct:
                return False
        return True
