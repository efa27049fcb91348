"""In-memory fakes for use-case tests without a database (model: cosmicpython's
FakeUnitOfWork): a repository per tenant over plain dicts, and a runtime whose `commit`
runs the work as one transaction (on an exception every write of the work is undone)."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marketplace.adapters.repositories import PostFacts, PostQuery
from marketplace.demo.taxonomy import DEFAULT_TREE
from marketplace.domain import ledger
from marketplace.domain.categories import Category
from marketplace.domain.groups import Group, Membership
from marketplace.domain.ledger import GroupStatistics, Movement, Transfer
from marketplace.domain.matches import Match
from marketplace.domain.matching import MapEntry, Offer
from marketplace.domain.messages import Message
from marketplace.domain.notifications import Delivery, Notification
from marketplace.domain.places import Neighbourhood
from marketplace.domain.posts import Post, PostKind, PostStatus, remind_at
from marketplace.domain.residents import Organisation, ResidentProfile
from marketplace.domain.safety import Block, Certificate, Report, ReportStatus
from marketplace.domain.volunteers import Helper, VolunteerProfile
from marketplace.service.context import Context
from marketplace.settings import Settings
from wijkkracht_common.events import marketplace as marketplace_events
from wijkkracht_common.events.envelope import EventData, parse_event
from wijkkracht_common.outbox import PreparedRecord
from wijkkracht_common.pagination import decode_cursor, encode_cursor

_EVENT_CLASSES = {
    cls.event_type(): cls
    for cls in vars(marketplace_events).values()
    if isinstance(cls, type)
    and issubclass(cls, EventData)
    and getattr(cls, "producer", None) == "marketplace"
    and "event_name" in vars(cls)
}


def _envelope(event: Any) -> Any:
    """Events prepared ahead (`outbox.prepare`) read back as envelopes, like the others."""
    if not isinstance(event, PreparedRecord):
        return event
    return parse_event(_EVENT_CLASSES[event.record["type"]], event.record["payload"])


@dataclass
class Store:
    """One tenant's data."""

    neighbourhoods: dict[str, Neighbourhood] = field(default_factory=dict)
    residents: dict[str, ResidentProfile] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    map_entries: dict[str, MapEntry] = field(default_factory=dict)
    #: The social map's default tree unless a test projects another.
    taxonomy: tuple[int, list[Category]] | None = field(
        default_factory=lambda: (0, list(DEFAULT_TREE))
    )
    config: dict[str, Any] = field(default_factory=dict)
    posts: dict[str, Post] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    memberships: dict[tuple[str, str], Membership] = field(default_factory=dict)
    matches: dict[str, Match] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    blocks: dict[tuple[str, str], Block] = field(default_factory=dict)
    certificates: dict[tuple[str, str], Certificate] = field(default_factory=dict)
    volunteers: dict[str, VolunteerProfile] = field(default_factory=dict)
    notifications: dict[str, Notification] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    movements: dict[str, Movement] = field(default_factory=dict)
    accounts: dict[tuple[str, str], int] = field(default_factory=dict)
    consents: set[tuple[str, str, str]] = field(default_factory=set)
    access_log: list[dict[str, Any]] = field(default_factory=list)
    mails: list[Any] = field(default_factory=list)


class FakeRepository:
    def __init__(self, store: Store) -> None:
        self.s = store

    # projections
    async def replace_neighbourhoods(self, rows: Sequence[Neighbourhood]) -> None:
        self.s.neighbourhoods = {n.code: n for n in rows}

    async def neighbourhoods(self) -> list[Neighbourhood]:
        return list(self.s.neighbourhoods.values())

    async def save_resident(self, profile: ResidentProfile) -> None:
        self.s.residents[profile.person_id] = profile

    async def resident(self, person_id: str) -> ResidentProfile | None:
        return self.s.residents.get(person_id)

    async def save_organisation(self, organisation: Organisation) -> None:
        self.s.organisations[organisation.slug] = organisation

    async def organisation(self, slug: str) -> Organisation | None:
        return self.s.organisations.get(slug)

    async def save_map_entry(self, entry: MapEntry) -> None:
        self.s.map_entries[entry.entry_id] = entry

    async def map_entry(self, entry_id: str) -> MapEntry | None:
        return self.s.map_entries.get(entry_id)

    async def map_entries(self, codes: Sequence[str]) -> list[MapEntry]:
        return [e for e in self.s.map_entries.values() if set(codes) & set(e.categories)]

    async def social_map_record(self, organisation: str) -> str | None:
        found = [e for e in self.s.map_entries.values() if e.owner_organisation == organisation]
        return found[0].organization_id if found else None

    async def save_taxonomy(self, version: int, terms: Sequence[Category]) -> None:
        self.s.taxonomy = (version, list(terms))

    async def taxonomy(self) -> tuple[int, list[Category]] | None:
        return self.s.taxonomy

    async def set_config(self, key: str, value: Any) -> None:
        self.s.config[key] = value

    async def config(self, key: str) -> Any:
        return self.s.config.get(key)

    # posts
    async def save_post(self, post: Post) -> None:
        self.s.posts[post.id] = post

    async def add_posts(self, posts: Sequence[Post]) -> None:
        for post in posts:
            await self.save_post(post)

    async def get_post(self, post_id: str) -> Post | None:
        return self.s.posts.get(post_id)

    async def posts_page(
        self, query: PostQuery, keep: Callable[[Post], bool], *, limit: int, cursor: str | None
    ) -> tuple[list[Post], str | None]:
        flt = query.filter()
        after = decode_cursor(cursor)["id"] if cursor else None
        rows = sorted(self.s.posts.values(), key=lambda p: p.id, reverse=True)
        found: list[Post] = []
        for post in rows:
            doc = post.model_dump(mode="json")
            doc["scope"] = post.scope.value
            if after is not None and post.id >= after:
                continue
            if any(doc.get(k) != v for k, v in flt.items()):
                continue
            if keep(post):
                found.append(post)
                if len(found) == limit:
                    return found, encode_cursor({"id": post.id})
        return found, None

    async def open_offers(self, codes: Sequence[str], neighbourhood_code: str) -> list[Offer]:
        return [
            Offer(
                p.id,
                p.owner_id,
                p.category,
                p.neighbourhood_code,
                p.when.weekdays_meant(),
                p.created_at.timestamp(),
                p.expires_at.timestamp(),
                p.scope,
                p.group_id,
                p.under_review,
            )
            for p in self.s.posts.values()
            if p.status is PostStatus.OPEN
            and p.kind is PostKind.OFFER
            and p.category in codes
            and p.neighbourhood_code == neighbourhood_code
        ]

    async def posts_due(self, now: datetime, limit: int) -> list[Post]:
        def sweep_at(p: Post) -> datetime:
            return p.expires_at if p.reminded_at is not None else remind_at(p)

        due = [
            p for p in self.s.posts.values() if p.status is PostStatus.OPEN and sweep_at(p) <= now
        ]
        return sorted(due, key=sweep_at)[:limit]

    async def post_facts(self) -> list[PostFacts]:
        return [
            PostFacts(
                p.id,
                p.kind,
                p.status,
                p.category,
                p.neighbourhood_code,
                p.created_at,
                p.first_response_at,
            )
            for p in self.s.posts.values()
        ]

    async def posts_of(self, owner_id: str) -> list[Post]:
        return sorted(
            (p for p in self.s.posts.values() if p.owner_id == owner_id), key=lambda p: p.id
        )

    # groups
    async def save_group(self, group: Group) -> None:
        self.s.groups[group.id] = group

    async def get_group(self, group_id: str) -> Group | None:
        return self.s.groups.get(group_id)

    async def groups(self) -> list[Group]:
        return sorted(self.s.groups.values(), key=lambda g: g.id)

    async def save_membership(self, membership: Membership) -> None:
        self.s.memberships[(membership.group_id, membership.person_id)] = membership

    async def delete_membership(self, group_id: str, person_id: str) -> None:
        self.s.memberships.pop((group_id, person_id), None)

    async def membership(self, group_id: str, person_id: str) -> Membership | None:
        return self.s.memberships.get((group_id, person_id))

    async def memberships_of(self, person_id: str) -> list[Membership]:
        return [m for (_, p), m in self.s.memberships.items() if p == person_id]

    async def members(self, group_id: str) -> list[Membership]:
        return [m for (g, _), m in sorted(self.s.memberships.items()) if g == group_id]

    # matches and messages
    async def save_match(self, match: Match) -> None:
        self.s.matches[match.id] = match

    async def get_match(self, match_id: str) -> Match | None:
        return self.s.matches.get(match_id)

    async def matches_of_post(self, post_id: str) -> list[Match]:
        return sorted(
            (m for m in self.s.matches.values() if m.post_id == post_id), key=lambda m: m.id
        )

    async def matches_of_person(self, person_id: str) -> list[Match]:
        return sorted(
            (m for m in self.s.matches.values() if person_id in (m.owner_id, m.responder_id)),
            key=lambda m: m.id,
        )

    async def all_matches(self) -> list[Match]:
        return list(self.s.matches.values())

    async def save_message(self, message: Message) -> None:
        self.s.messages[message.id] = message

    async def get_message(self, message_id: str) -> Message | None:
        return self.s.messages.get(message_id)

    async def messages(self, match_id: str) -> list[Message]:
        return sorted(
            (m for m in self.s.messages.values() if m.match_id == match_id), key=lambda m: m.id
        )

    # safety
    async def save_report(self, report: Report) -> None:
        self.s.reports[report.id] = report

    async def get_report(self, report_id: str) -> Report | None:
        return self.s.reports.get(report_id)

    async def open_reports(self, group_id: str | None) -> list[Report]:
        return [
            r
            for r in self.s.reports.values()
            if r.status is ReportStatus.OPEN and r.group_id == group_id
        ]

    async def reports_by(self, person_id: str) -> list[Report]:
        return [r for r in self.s.reports.values() if r.reporter_id == person_id]

    async def blocks_by(self, person_id: str) -> list[Block]:
        return [b for (a, _), b in self.s.blocks.items() if a == person_id]

    async def save_block(self, block: Block) -> None:
        self.s.blocks[(block.blocker_id, block.blocked_id)] = block

    async def delete_block(self, blocker_id: str, blocked_id: str) -> bool:
        return self.s.blocks.pop((blocker_id, blocked_id), None) is not None

    async def blocked_either_way(self, person_id: str) -> frozenset[str]:
        out = {b for a, b in self.s.blocks if a == person_id}
        out |= {a for a, b in self.s.blocks if b == person_id}
        return frozenset(out)

    async def save_certificate(self, certificate: Certificate) -> None:
        self.s.certificates[(certificate.organisation, certificate.person_id)] = certificate

    async def certificates_of(self, person_id: str) -> list[Certificate]:
        return [c for (_, p), c in self.s.certificates.items() if p == person_id]

    # volunteers and notifications
    async def save_volunteer(self, profile: VolunteerProfile) -> None:
        self.s.volunteers[profile.person_id] = profile

    async def volunteer(self, person_id: str) -> VolunteerProfile | None:
        return self.s.volunteers.get(person_id)

    async def family_candidates(
        self, codes: Sequence[str], hoods: Sequence[str]
    ) -> tuple[list[list[Offer]], list[Helper], list[MapEntry]]:
        per_hood = [await self.open_offers(codes, hood) for hood in hoods]
        return per_hood, await self.helpers_for(codes), await self.map_entries(codes)

    async def helpers_for(self, codes: Sequence[str]) -> list[Helper]:
        return [
            v.helper()
            for v in self.s.volunteers.values()
            if v.active and set(codes) & set(v.categories)
        ]

    async def add_notifications(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            self.s.notifications[n.id] = n

    async def notifications_of(
        self, person_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Notification], str | None]:
        rows = sorted(
            (n for n in self.s.notifications.values() if n.person_id == person_id),
            key=lambda n: n.id,
            reverse=True,
        )
        if cursor:
            after = decode_cursor(cursor)["id"]
            rows = [n for n in rows if n.id < after]
        page = rows[:limit]
        return page, encode_cursor({"id": page[-1].id}) if len(rows) > limit else None

    async def digest_pending(self, limit: int) -> list[Notification]:
        pending = [
            n
            for n in self.s.notifications.values()
            if n.delivery is Delivery.DIGEST and n.mailed_at is None
        ]
        return sorted(pending, key=lambda n: n.id)[:limit]

    async def mark_mailed(self, notification: Notification, at: datetime) -> None:
        self.s.notifications[notification.id] = notification.model_copy(update={"mailed_at": at})

    # time credits
    async def get_transfer(self, transfer_id: str) -> Transfer | None:
        return self.s.transfers.get(transfer_id)

    async def add_transfer(self, transfer: Transfer, movements: Sequence[Movement]) -> None:
        assert transfer.id not in self.s.transfers, "double posting"
        self.s.transfers[transfer.id] = transfer
        for m in movements:
            self.s.movements[m.id] = m

    async def change_balance(
        self, group_id: str, person_id: str, delta: int, *, floor: int, ceiling: int
    ) -> bool:
        now = self.s.accounts.get((group_id, person_id), 0)
        # as the database's conditional update: a debit checks the floor, a credit the ceiling
        if (delta < 0 and now + delta < floor) or (delta > 0 and now + delta > ceiling):
            return False
        self.s.accounts[(group_id, person_id)] = now + delta
        return True

    async def balance(self, group_id: str, person_id: str) -> int:
        return self.s.accounts.get((group_id, person_id), 0)

    async def balances(self, group_id: str) -> dict[str, int]:
        return {p: b for (g, p), b in self.s.accounts.items() if g == group_id}

    async def group_movements(self, group_id: str) -> list[Movement]:
        return sorted(
            (m for m in self.s.movements.values() if m.group_id == group_id), key=lambda m: m.id
        )

    async def transfers_of(self, person_id: str) -> list[Transfer]:
        return sorted(
            (
                t
                for t in self.s.transfers.values()
                if person_id in (t.from_person_id, t.to_person_id)
            ),
            key=lambda t: t.id,
        )

    async def group_statistics(self, group_id: str) -> GroupStatistics:
        return ledger.statistics(
            group_id, await self.balances(group_id), await self.group_movements(group_id)
        )

    # privacy
    async def consent_given(self, person_id: str, organisation: str, purpose: str) -> bool:
        return (person_id, organisation, purpose) in self.s.consents

    async def record_access(self, **record: Any) -> None:
        self.s.access_log.append(record)

    async def stage_mails(self, messages: Any) -> None:
        self.s.mails.extend(messages)

    async def erase_person(self, person_id: str, tombstone: str) -> dict[str, dict[str, int]]:
        raise NotImplementedError("erasure is tested on the real database")


class FakeStorage:
    async def tenant_db(self, tenant: str) -> str:
        return tenant

    async def tenants(self) -> list[str]:
        return []


class FakeRuntime:
    """`commit` runs the work as one transaction over the tenant's store."""

    def __init__(self, stores: dict[str, Store]) -> None:
        self.storage = FakeStorage()
        self.stores = stores
        self.staged: list[Any] = []

    async def commit(
        self, tenant: str, work: Callable[[Any, Any], Awaitable[tuple[Any, Sequence[Any]]]]
    ) -> Any:
        store = self.stores.setdefault(tenant, Store())
        before = copy.deepcopy(store)
        try:
            result, events = await work(tenant, None)
        except BaseException:
            store.__dict__.update(before.__dict__)  # in place: repositories hold the store
            raise
        self.staged.extend(_envelope(e) for e in events)
        return result


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


def fake_context(clock: Clock | None = None) -> tuple[Context, FakeRuntime]:
    stores: dict[str, Store] = {}
    runtime = FakeRuntime(stores)

    def repositories(db: Any, _session: Any) -> FakeRepository:
        return FakeRepository(stores.setdefault(db, Store()))

    ctx = Context(
        runtime,  # type: ignore[arg-type]
        Settings(env="test"),
        clock or Clock(),
        repositories=repositories,  # type: ignore[arg-type]
    )
    return ctx, runtime
