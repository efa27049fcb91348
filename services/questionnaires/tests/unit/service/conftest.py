"""In-memory fakes of the repositories and the unit of work, so the service layer's use cases
run without a database (model: cosmicpython's `tests/unit/test_handlers.py`, FakeUnitOfWork).

Each database (tenant, or `platform`) is a `FakeStore`; `FakeUnitOfWork.commit` runs the work on
it and keeps the staged events, and restores the store when the work fails (a rolled-back
transaction). `apply_once` keeps an inbox per store like the real one. The fakes implement the
Protocols of `questionnaires.adapters.repositories`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi.responses import JSONResponse
from questionnaires.adapters.repositories import (
    Effect,
    RenderedSubmit,
    Repositories,
    ShareMarker,
    Work,
)
from questionnaires.domain.definition import Status
from questionnaires.domain.instrument import Instrument
from questionnaires.domain.invitation import OPEN_STATES, REMINDABLE_STATES, Invitation
from questionnaires.domain.response_record import InviterShare, ResponseRecord
from questionnaires.service.context import Context
from questionnaires.settings import Settings
from wijkkracht_common.auth import Principal
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.mail import Mail
from wijkkracht_common.messaging import Delivery
from wijkkracht_common.outbox import PreparedRecord, Staged
from wijkkracht_common.storage import DuplicateKeyError

T = TypeVar("T")
START = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
TENANT = "zaanstreek"
OTHER_TENANT = "waterland"


@dataclass
class FakeStore:
    """One database's collections, as domain objects."""

    instruments: dict[tuple[str, int], Instrument] = field(default_factory=dict)
    responses: dict[str, ResponseRecord] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    consents: dict[tuple[str, str, str], ConsentState] = field(default_factory=dict)
    shares: dict[str, ShareMarker] = field(default_factory=dict)
    tenants: dict[str, datetime] = field(default_factory=dict)
    access_log: list[dict[str, Any]] = field(default_factory=list)
    mails: list[Mail] = field(default_factory=list)
    replays: dict[str, dict[str, Any]] = field(default_factory=dict)  # Idempotency-Key records
    inbox: set[str] = field(default_factory=set)
    erased: set[str] = field(default_factory=set)  # persons remembered as erased
    events: list[Staged] = field(default_factory=list)

    def copy(self) -> FakeStore:
        """A snapshot (the stored objects are immutable: copying the containers suffices)."""
        return replace(self, **{f.name: copy.copy(getattr(self, f.name)) for f in fields(self)})


def _insert(collection: dict[Any, Any], key: Any, value: Any) -> None:
    if key in collection:
        raise DuplicateKeyError(f"duplicate key {key!r}")
    collection[key] = value


def _page(items: Sequence[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """Keyset pages by id, like `wijkkracht_common.pagination` (the cursor: the last id)."""
    ordered = sorted(items, key=lambda i: i.id)
    if cursor is not None:
        ordered = [i for i in ordered if i.id > cursor]
    page = ordered[:limit]
    return page, (page[-1].id if len(ordered) > limit else None)


class FakeInstruments:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def get(self, instrument_id: str, version: int) -> Instrument | None:
        return self.s.instruments.get((instrument_id, version))

    async def latest_published(self, instrument_id: str) -> Instrument | None:
        published = [i for i in await self.versions(instrument_id) if i.status == "published"]
        return published[0] if published else None

    async def versions(self, instrument_id: str) -> list[Instrument]:
        found = [i for (key, _), i in self.s.instruments.items() if key == instrument_id]
        return sorted(found, key=lambda i: -i.version)

    async def stored(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        return {k for k in keys if k in self.s.instruments}

    async def add(self, instrument: Instrument) -> None:
        _insert(self.s.instruments, (instrument.id, instrument.version), instrument)

    async def delete_draft(self, instrument_id: str, version: int) -> None:
        found = self.s.instruments.get((instrument_id, version))
        if found is not None and found.status == "draft":
            del self.s.instruments[(instrument_id, version)]

    async def change_status(self, changed: Instrument, *, expected: Status) -> bool:
        key = (changed.id, changed.version)
        current = self.s.instruments.get(key)
        if current is None or current.status != expected:
            return False
        self.s.instruments[key] = changed
        return True

    async def page(
        self, *, drafts_of: Sequence[str], status: Status | None, limit: int, cursor: str | None
    ) -> tuple[list[Instrument], str | None]:
        visible = [
            i
            for i in self.s.instruments.values()
            if (i.status != "draft" or i.owner in drafts_of) and status in (None, i.status)
        ]
        found, next_cursor = _page([_Keyed(i.key, i) for i in visible], limit, cursor)
        return [k.item for k in found], next_cursor


@dataclass(frozen=True)
class _Keyed:
    id: str
    item: Any


class FakeResponses:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def get(self, response_id: str) -> ResponseRecord | None:
        return self.s.responses.get(response_id)

    async def add(self, record: ResponseRecord) -> None:
        _insert(self.s.responses, record.id, record)

    async def save_in_progress(self, record: ResponseRecord) -> bool:
        current = self.s.responses.get(record.id)
        if current is None or current.status != "in_progress":
            return False
        self.s.responses[record.id] = record
        return True

    def render_submit(self, record: ResponseRecord) -> RenderedSubmit:
        return RenderedSubmit(record, {})

    async def store_submits(self, submits: Sequence[RenderedSubmit]) -> int:
        stored = 0
        for submit in submits:
            if await self.save_in_progress(submit.record):
                stored += 1
        return stored

    async def page_of_person(
        self, person_id: str, *, submitted_only: bool, limit: int, cursor: str | None
    ) -> tuple[list[ResponseRecord], str | None]:
        return _page(
            [
                r
                for r in self.s.responses.values()
                if r.person_id == person_id and (r.status == "submitted" or not submitted_only)
            ],
            limit,
            cursor,
        )

    async def of_person(self, person_id: str) -> list[ResponseRecord]:
        return sorted(
            (r for r in self.s.responses.values() if r.person_id == person_id), key=lambda r: r.id
        )

    async def set_inviter_share(self, response_id: str, share: InviterShare) -> None:
        self.s.responses[response_id] = self.s.responses[response_id].with_inviter_share(share)

    async def attach(self, attached: ResponseRecord) -> bool:
        current = self.s.responses.get(attached.id)
        if current is None or current.person_id is not None:
            return False
        self.s.responses[attached.id] = current.attached_to(attached.person_id or "")
        return True

    async def delete(self, response_ids: Sequence[str]) -> int:
        gone = [i for i in response_ids if i in self.s.responses]
        for response_id in gone:
            del self.s.responses[response_id]
        return len(gone)

    async def unlink_staff(self, staff_id: str, tombstone: str) -> int:
        named = [
            r
            for r in self.s.responses.values()
            if staff_id in (r.assisted_by, r.started_by)
            or (r.submit_key is not None and r.submit_key.key.startswith(f"{staff_id}:"))
        ]
        for record in named:
            self.s.responses[record.id] = record.without_staff(staff_id, tombstone)
        return len(named)


class FakeInvitations:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    def _update(self, invitation_id: str, **changes: Any) -> None:
        self.s.invitations[invitation_id] = replace(self.s.invitations[invitation_id], **changes)

    async def get(self, invitation_id: str) -> Invitation | None:
        return self.s.invitations.get(invitation_id)

    async def add(self, invitation: Invitation) -> None:
        _insert(self.s.invitations, invitation.id, invitation)

    async def add_link(self, token_hash: str, invitation_id: str, at: datetime) -> None:
        _insert(self.s.links, token_hash, invitation_id)

    async def by_link(self, token_hash: str) -> Invitation | None:
        invitation_id = self.s.links.get(token_hash)
        return None if invitation_id is None else self.s.invitations.get(invitation_id)

    async def mark_started(self, invitation_id: str, response_id: str, at: datetime) -> None:
        if self.s.invitations[invitation_id].status in ("sent", "opened"):
            self._update(invitation_id, status="started", response_id=response_id, updated_at=at)

    async def mark_submitted(self, invitation_id: str, response_id: str, at: datetime) -> None:
        self._update(invitation_id, status="submitted", response_id=response_id, updated_at=at)

    async def mark_opened(self, invitation_id: str, at: datetime) -> None:
        if self.s.invitations[invitation_id].status == "sent":
            self._update(invitation_id, status="opened", updated_at=at)

    async def count_reminder(self, invitation_id: str, at: datetime) -> None:
        current = self.s.invitations[invitation_id]
        self._update(invitation_id, reminders=current.reminders + 1, updated_at=at)

    async def overdue(self, now: datetime) -> list[str]:
        return [
            i.id
            for i in self.s.invitations.values()
            if i.status in OPEN_STATES and i.due_at is not None and i.due_at < now
        ]

    async def expire(self, invitation_ids: Sequence[str], now: datetime) -> int:
        expired = 0
        for invitation_id in invitation_ids:
            if self.s.invitations[invitation_id].status in OPEN_STATES:
                self._update(invitation_id, status="expired", updated_at=now)
                expired += 1
        return expired

    async def due_for_reminder(
        self, now: datetime, until: datetime, limit: int
    ) -> list[Invitation]:
        return [
            i
            for i in self.s.invitations.values()
            if i.status in REMINDABLE_STATES
            and i.due_at is not None
            and now <= i.due_at <= until
            and i.auto_reminded_at is None
        ][:limit]

    async def claim_automatic_reminder(self, invitation_id: str, now: datetime) -> bool:
        current = self.s.invitations[invitation_id]
        if current.status not in REMINDABLE_STATES or current.auto_reminded_at is not None:
            return False
        self._update(
            invitation_id,
            auto_reminded_at=now.timestamp(),
            reminders=current.reminders + 1,
            updated_at=now,
        )
        return True

    async def of_person(self, person_id: str) -> list[Invitation]:
        return [i for i in self.s.invitations.values() if i.person_id == person_id]

    async def get_many(self, invitation_ids: Sequence[str]) -> list[Invitation]:
        return [self.s.invitations[i] for i in invitation_ids if i in self.s.invitations]

    async def delete(self, invitation_ids: Sequence[str]) -> int:
        gone = [i for i in invitation_ids if i in self.s.invitations]
        for invitation_id in gone:
            del self.s.invitations[invitation_id]
        for token_hash in [h for h, i in self.s.links.items() if i in gone]:
            del self.s.links[token_hash]
        return len(gone)

    async def unlink_inviter(self, staff_id: str, tombstone: str) -> int:
        sent = [i.id for i in self.s.invitations.values() if i.invited_by == staff_id]
        for invitation_id in sent:
            self._update(invitation_id, invited_by=tombstone)
        return len(sent)

    async def attach(self, invitation_id: str, person_id: str) -> None:
        if self.s.invitations[invitation_id].person_id is None:
            self._update(invitation_id, person_id=person_id)

    async def page_of_person(
        self, person_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Invitation], str | None]:
        mine = [i for i in self.s.invitations.values() if i.person_id == person_id]
        return _page(mine, limit, cursor)

    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Invitation], str | None]:
        theirs = [i for i in self.s.invitations.values() if i.organisation == organisation]
        return _page(theirs, limit, cursor)


class FakeConsents:
    """The shared consent projection's states; tests set them with `put` (the projection's
    own ordering is tested in libs/common)."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def put(self, state: ConsentState) -> None:
        self.s.consents[(state.person_id, state.organisation, state.purpose)] = state

    async def granted_organisations(
        self, person_id: str, purpose: str, among: Sequence[str]
    ) -> list[str]:
        return sorted(
            o
            for o in among
            if (c := self.s.consents.get((person_id, o, purpose))) is not None and c.granted
        )

    async def state(self, person_id: str, organisation: str, purpose: str) -> ConsentState | None:
        return self.s.consents.get((person_id, organisation, purpose))

    async def forget_person(self, person_id: str) -> int:
        gone = [k for k in self.s.consents if k[0] == person_id]
        for key in gone:
            del self.s.consents[key]
        return len(gone)


class FakeShares:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def first_view(
        self, response_id: str, shared_with: str, share_format: str, at: datetime
    ) -> bool:
        key = f"{response_id}:{shared_with}:{share_format}"
        if key in self.s.shares:
            return False
        self.s.shares[key] = ShareMarker(response_id, shared_with, share_format, at)
        return True

    async def of_responses(self, response_ids: Sequence[str]) -> list[ShareMarker]:
        return [m for m in self.s.shares.values() if m.response_id in response_ids]

    async def delete_of_responses(self, response_ids: Sequence[str]) -> int:
        gone = [k for k, m in self.s.shares.items() if m.response_id in response_ids]
        for key in gone:
            del self.s.shares[key]
        return len(gone)


class FakeTenants:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def register(self, tenant: str, at: datetime) -> None:
        self.s.tenants[tenant] = at

    async def is_registered(self, tenant: str) -> bool:
        return tenant in self.s.tenants


class FakeAccessLog:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def record(
        self,
        principal: Principal,
        *,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None:
        self.s.access_log.append(
            {
                "actor": principal.subject,
                "resident": resident,
                "action": action,
                "resource": resource,
                "reason": reason,
                "on_behalf_of": on_behalf_of,
            }
        )

    async def anonymise_resident(self, person_id: str) -> int:
        def unlinked(entry: dict[str, Any]) -> dict[str, Any]:
            kind = entry["resource"].split("/", 1)[0]
            return {**entry, "resident": "erased-tombstone", "resource": f"{kind}/erased"}

        mine = sum(1 for e in self.s.access_log if e["resident"] == person_id)
        self.s.access_log = [
            unlinked(e) if e["resident"] == person_id else e for e in self.s.access_log
        ]
        return mine


class FakeMail:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def stage(self, mail: Mail) -> None:
        self.s.mails.append(mail)

    async def delete_to(self, addresses: Sequence[str]) -> int:
        kept = [m for m in self.s.mails if m.to not in addresses]
        deleted = len(self.s.mails) - len(kept)
        self.s.mails = kept
        return deleted


class FakePrivacy:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def forget_requests(self, person_id: str) -> int:
        gone = [
            k
            for k, body in self.s.replays.items()
            if k.startswith(f"{person_id}:") or body.get("person_id") == person_id
        ]
        for key in gone:
            del self.s.replays[key]
        return len(gone)

    async def remember_erased(self, tenant: str, person_id: str) -> None:
        self.s.erased.add(person_id)


def fake_repositories(store: FakeStore) -> Repositories:
    return Repositories(
        instruments=FakeInstruments(store),
        responses=FakeResponses(store),
        invitations=FakeInvitations(store),
        consents=FakeConsents(store),
        shares=FakeShares(store),
        tenants=FakeTenants(store),
        access_log=FakeAccessLog(store),
        mail=FakeMail(store),
        privacy=FakePrivacy(store),
    )


class FakeUnitOfWork:
    """The unit of work on `FakeStore`s (one per database, made on first use)."""

    def __init__(self) -> None:
        self.stores: dict[str, FakeStore] = {}
        self.commits = 0
        self.mail_wakeups = 0

    def store(self, database: str) -> FakeStore:
        return self.stores.setdefault(database, FakeStore())

    async def commit(self, tenant: str, work: Work[T], *, mail: bool = False) -> T:
        store = self.store(tenant)
        before = store.copy()
        try:
            result, events = await work(fake_repositories(store))
        except BaseException:
            self.stores[tenant] = before  # rolled back
            raise
        store.events.extend(events)
        self.commits += 1
        self.mail_wakeups += mail
        return result

    async def reader(self, tenant: str) -> Repositories:
        return fake_repositories(self.store(tenant))

    async def apply_once(
        self,
        envelope: Envelope[Any],
        delivery: Delivery,
        effect: Effect,
        *,
        database: str | None = None,
        person: str | None = None,
    ) -> bool:
        async def work(repos: Repositories) -> tuple[bool, Sequence[Staged]]:
            store = self.store(database or envelope.tenant)
            claim = f"{delivery.durable}:{envelope.id}"
            if claim in store.inbox:
                return False, []
            store.inbox.add(claim)
            if person is not None and person in store.erased:
                return False, []  # an event about an erased person: dropped
            return True, await effect(repos)

        return await self.commit(database or envelope.tenant, work)

    async def tenants(self) -> list[str]:
        return sorted(self.stores)

    async def idempotent(
        self,
        tenant: str,
        *,
        key: str | None,
        scope: str,
        body: Any,
        produce: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> JSONResponse:
        status, content = await produce()
        if key is not None:  # kept like the real replays, so erasure can be checked
            self.store(tenant).replays[f"{scope}:{key}"] = content
        return JSONResponse(content, status_code=status)

    def events(self, tenant: str, event_type: str | None = None) -> list[dict[str, Any]]:
        """The staged events of a database as envelope JSON (optionally of one type, e.g.
        `response_submitted`)."""
        out = []
        for staged in self.store(tenant).events:
            if isinstance(staged, PreparedRecord):
                out.append(json.loads(staged.record["payload"]))
            elif isinstance(staged, Envelope):
                out.append(json.loads(staged.model_dump_json()))
            else:
                out.append(json.loads(staged.json))
        return [e for e in out if event_type is None or e["type"].split(".")[3] == event_type]


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(uow: FakeUnitOfWork, clock: Clock) -> Context:
    return Context(settings=Settings(env="test"), uow=uow, clock=clock)


def person(sub: str, tenant: str = TENANT, **orgs: list[str]) -> Principal:
    """A person's token: `person("p1", de_smd=["professional"])` (underscores -> dashes)."""
    return Principal(
        subject=sub,
        tenant=tenant,
        roles=frozenset(r for rs in orgs.values() for r in rs),
        orgs={o.replace("_", "-"): frozenset(r) for o, r in orgs.items()},
    )


@pytest.fixture
def principal() -> Callable[..., Principal]:
    return person


def delivery(consumer: str = "questionnaires__test") -> Delivery:
    return Delivery(subject="wk.test", attempt=1, durable=consumer)


@pytest.fixture
def delivered() -> Callable[..., Delivery]:
    return delivery
