"""Persistence of the marketplace: the only module that reads or writes its collections.

`Repository` is what the service layer uses; it takes and returns domain objects, never a raw
document. `MongoRepository(db, session)` implements it on one tenant's database
(`wk_marketplace_<tenant>`), inside the transaction of `runtime.commit` when given its
session; unit tests use an in-memory fake (`tests/unit/mp_fakes.py`).

Storage notes (engine differences are otherwise handled by `wijkkracht_common.storage`):
documents are written whole with their own `_id` (see `documents`); no index names `_id`;
array fields are never queried; lookups use equality on one indexed field or `_id` (the
embedded server serves neither compound indexes nor `$in`/`$or` on other fields from an
index, and reads cost ~50 µs per document, measured).

Candidate buckets: what matching reads is kept beside the aggregates, one document per
(kind, category[, neighbourhood]) holding the compact candidates (`offer|<code>|<hood>`: open
offers; `helper|<code>`: active volunteers with their neighbourhood; `entry|<code>`: the
social map's entries). Keyed by category, not by branch, so the layout does not depend on the
social map's taxonomy (a new tree moves no candidate); a family's buckets are read in one
`$in` on `_id`. They are updated in the same transaction as the post, profile or entry they
mirror, so a candidate query reads a few documents instead of hundreds. Each bucket carries a
random `rev`, new at every write, so a process keeps what it decoded until the bucket changes
(`bucket_cache`). Items are kept by id (`by_ref`): a new offer is one `$set` of
`by_ref.<post id>`, without reading the bucket (`add_posts`); buckets written before hold a
list (`items`), read as it is and moved into `by_ref` at the next rewrite (`_bucket_put`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from pymongo import UpdateOne
from wijkkracht_common import access_log, consent, mail
from wijkkracht_common.auth import Principal
from wijkkracht_common.idempotency import IDEMPOTENCY
from wijkkracht_common.pagination import decode_cursor, encode_cursor
from wijkkracht_common.storage import (
    ASCENDING,
    DESCENDING,
    Database,
    IndexModel,
    IndexSpec,
    Session,
    restore_datetimes,
    stored_bool,
    stored_datetime,
)

from marketplace.adapters.bucket_cache import SHARED, Decoded, DecodedBuckets, new_rev
from marketplace.adapters.documents import epoch, from_doc, plain, to_doc
from marketplace.domain import ledger
from marketplace.domain.categories import Category
from marketplace.domain.groups import Group, Membership
from marketplace.domain.ledger import GroupStatistics, Movement, Transfer
from marketplace.domain.matches import Match
from marketplace.domain.matching import MapEntry, Offer
from marketplace.domain.messages import Message
from marketplace.domain.notifications import Delivery, Notification
from marketplace.domain.places import Neighbourhood
from marketplace.domain.posts import PartOfDay, Post, PostKind, PostStatus, Scope, remind_at
from marketplace.domain.residents import Organisation, ResidentProfile
from marketplace.domain.safety import Block, Certificate, Report, ReportStatus
from marketplace.domain.volunteers import Helper, NotifyMode, VolunteerProfile

Db = Database[dict[str, Any]]

POSTS = "posts"
GROUPS = "groups"
MEMBERSHIPS = "memberships"
MATCHES = "matches"
MESSAGES = "messages"
REPORTS = "reports"
BLOCKS = "blocks"
CERTIFICATES = "certificates"
VOLUNTEERS = "volunteers"
BUCKETS = "candidate_buckets"
NOTIFICATIONS = "notifications"
TRANSFERS = "transfers"
MOVEMENTS = "movements"
ACCOUNTS = "accounts"
NEIGHBOURHOODS = "neighbourhoods"
RESIDENTS = "residents"
ORGANISATIONS = "organisations"
MAP_ENTRIES = "map_entries"
CATEGORIES = "categories"  # retired: codes seen in entries (the taxonomy event replaced it)
CONFIG = "config"
#: The config document holding the social map's taxonomy as projected.
TAXONOMY = "taxonomy"

_ASC = ASCENDING


def _ix(*fields: str) -> IndexModel:
    return IndexModel([(f, _ASC) for f in fields])


# No index may name `_id` (every insert fails on the embedded server; developer guide).
INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(
        POSTS,
        (
            _ix("owner_id"),
            _ix("organisation"),
            _ix("group_id"),
            _ix("sweep_ts"),
        ),
    ),
    IndexSpec(GROUPS),
    IndexSpec(MEMBERSHIPS, (_ix("group_id"), _ix("person_id"))),
    IndexSpec(MATCHES, (_ix("post_id"), _ix("responder_id"), _ix("owner_id"))),
    IndexSpec(MESSAGES, (_ix("match_id"), _ix("sender_id"))),
    IndexSpec(REPORTS, (_ix("status", "group_id"), _ix("reporter_id"), _ix("author_id"))),
    IndexSpec(BLOCKS),
    IndexSpec(CERTIFICATES, (_ix("person_id"),)),
    IndexSpec(VOLUNTEERS),
    IndexSpec(BUCKETS),
    IndexSpec(NOTIFICATIONS, (_ix("person_id"), _ix("digest_pending"))),
    IndexSpec(TRANSFERS, (_ix("from_person_id"), _ix("to_person_id"), _ix("reverses"))),
    IndexSpec(MOVEMENTS, (_ix("group_id"), _ix("person_id"))),
    IndexSpec(ACCOUNTS, (_ix("group_id"), _ix("person_id"))),
    IndexSpec(NEIGHBOURHOODS),
    IndexSpec(RESIDENTS),
    IndexSpec(ORGANISATIONS),
    IndexSpec(MAP_ENTRIES, (_ix("owner_organisation"),)),
    IndexSpec(CATEGORIES),
    IndexSpec(CONFIG),
)

#: Documents read per round when a list is filtered by rules the database cannot express.
SCAN_BATCH = 200


@dataclass(frozen=True)
class PostQuery:
    """Equality filters on posts (None: any)."""

    status: PostStatus | None = None
    kind: PostKind | None = None
    category: str | None = None
    neighbourhood_code: str | None = None
    group_id: str | None = None
    owner_id: str | None = None
    organisation: str | None = None

    def filter(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class PostFacts:
    """What the balance figures need of a post (no text)."""

    id: str
    kind: PostKind
    status: PostStatus
    category: str
    neighbourhood_code: str
    created_at: datetime
    first_response_at: datetime | None


class Repository(Protocol):
    """One tenant's marketplace; inside a use case's transaction every call is part of it."""

    # projections of other services' events
    async def replace_neighbourhoods(self, rows: Sequence[Neighbourhood]) -> None: ...
    async def neighbourhoods(self) -> list[Neighbourhood]: ...
    async def save_resident(self, profile: ResidentProfile) -> None: ...
    async def resident(self, person_id: str) -> ResidentProfile | None: ...
    async def save_organisation(self, organisation: Organisation) -> None: ...
    async def organisation(self, slug: str) -> Organisation | None: ...
    async def save_map_entry(self, entry: MapEntry) -> None: ...
    async def map_entry(self, entry_id: str) -> MapEntry | None: ...
    async def map_entries(self, codes: Sequence[str]) -> list[MapEntry]:
        """The social map's entries in any of these categories (each once)."""
        ...

    async def social_map_record(self, organisation: str) -> str | None: ...
    async def save_taxonomy(self, version: int, terms: Sequence[Category]) -> None: ...
    async def taxonomy(self) -> tuple[int, list[Category]] | None:
        """The social map's taxonomy as last projected: (version, terms)."""
        ...

    async def set_config(self, key: str, value: Any) -> None: ...
    async def config(self, key: str) -> Any: ...

    # posts
    async def save_post(self, post: Post) -> None: ...
    async def add_posts(self, posts: Sequence[Post]) -> None:
        """New posts, stored together (publishing's group commit)."""
        ...

    async def get_post(self, post_id: str) -> Post | None: ...
    async def posts_page(
        self, query: PostQuery, keep: Callable[[Post], bool], *, limit: int, cursor: str | None
    ) -> tuple[list[Post], str | None]: ...
    async def open_offers(self, codes: Sequence[str], neighbourhood_code: str) -> list[Offer]:
        """Open offers in any of these categories in a neighbourhood."""
        ...

    async def posts_due(self, now: datetime, limit: int) -> list[Post]:
        """Open posts whose reminder or expiry is due at `now`, the most overdue first."""
        ...

    async def post_facts(self) -> list[PostFacts]: ...
    async def posts_of(self, owner_id: str) -> list[Post]: ...

    # groups
    async def save_group(self, group: Group) -> None: ...
    async def get_group(self, group_id: str) -> Group | None: ...
    async def groups(self) -> list[Group]: ...
    async def save_membership(self, membership: Membership) -> None: ...
    async def delete_membership(self, group_id: str, person_id: str) -> None: ...
    async def membership(self, group_id: str, person_id: str) -> Membership | None: ...
    async def memberships_of(self, person_id: str) -> list[Membership]: ...
    async def members(self, group_id: str) -> list[Membership]: ...

    # matches and messages
    async def save_match(self, match: Match) -> None: ...
    async def get_match(self, match_id: str) -> Match | None: ...
    async def matches_of_post(self, post_id: str) -> list[Match]: ...
    async def matches_of_person(self, person_id: str) -> list[Match]: ...
    async def all_matches(self) -> list[Match]: ...
    async def save_message(self, message: Message) -> None: ...
    async def get_message(self, message_id: str) -> Message | None: ...
    async def messages(self, match_id: str) -> list[Message]: ...

    # safety
    async def save_report(self, report: Report) -> None: ...
    async def get_report(self, report_id: str) -> Report | None: ...
    async def open_reports(self, group_id: str | None) -> list[Report]: ...
    async def reports_by(self, person_id: str) -> list[Report]: ...
    async def blocks_by(self, person_id: str) -> list[Block]: ...
    async def save_block(self, block: Block) -> None: ...
    async def delete_block(self, blocker_id: str, blocked_id: str) -> bool: ...
    async def blocked_either_way(self, person_id: str) -> frozenset[str]: ...
    async def save_certificate(self, certificate: Certificate) -> None: ...
    async def certificates_of(self, person_id: str) -> list[Certificate]: ...

    # volunteers and notifications
    async def save_volunteer(self, profile: VolunteerProfile) -> None: ...
    async def volunteer(self, person_id: str) -> VolunteerProfile | None: ...
    async def helpers_for(self, codes: Sequence[str]) -> list[Helper]:
        """Active volunteers who help in any of these categories (with their neighbourhood,
        each once)."""
        ...

    async def family_candidates(
        self, codes: Sequence[str], hoods: Sequence[str]
    ) -> tuple[list[list[Offer]], list[Helper], list[MapEntry]]:
        """`open_offers` in each of `hoods`, `helpers_for` and `map_entries` of these
        categories, read together."""
        ...

    async def add_notifications(self, notifications: Sequence[Notification]) -> None: ...
    async def notifications_of(
        self, person_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Notification], str | None]: ...
    async def digest_pending(self, limit: int) -> list[Notification]: ...
    async def mark_mailed(self, notification: Notification, at: datetime) -> None: ...

    # time credits
    async def get_transfer(self, transfer_id: str) -> Transfer | None: ...
    async def add_transfer(self, transfer: Transfer, movements: Sequence[Movement]) -> None: ...
    async def change_balance(
        self, group_id: str, person_id: str, delta: int, *, floor: int, ceiling: int
    ) -> bool: ...
    async def balance(self, group_id: str, person_id: str) -> int: ...
    async def balances(self, group_id: str) -> dict[str, int]: ...
    async def group_movements(self, group_id: str) -> list[Movement]: ...
    async def transfers_of(self, person_id: str) -> list[Transfer]: ...
    async def group_statistics(self, group_id: str) -> GroupStatistics: ...

    # privacy
    async def consent_given(self, person_id: str, organisation: str, purpose: str) -> bool: ...
    async def record_access(
        self,
        *,
        principal: Principal,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None: ...
    async def stage_mails(self, messages: Sequence[mail.Mail]) -> None: ...
    async def erase_person(self, person_id: str, tombstone: str) -> dict[str, dict[str, int]]: ...


def _resident_doc(p: ResidentProfile) -> dict[str, Any]:
    return {
        "_id": p.person_id,
        "neighbourhood_code": p.neighbourhood_code,
        "pc4": p.pc4,
        "age_band": p.age_band,
        "at": p.at,
    }


def _entry_item(entry: MapEntry) -> dict[str, Any]:
    return {
        "organization_id": entry.organization_id,
        "owner_organisation": entry.owner_organisation,
        "kind": entry.kind,
        "categories": list(entry.categories),
        "pc4s": list(entry.pc4s),
        "state": entry.state,
        "active": entry.active,
        "revision": entry.revision,
        "state_at": entry.state_at,
    }


def _map_entry(item: dict[str, Any]) -> MapEntry:
    return MapEntry(
        entry_id=item["ref"],
        organization_id=item["organization_id"],
        owner_organisation=item.get("owner_organisation"),
        kind=item.get("kind", "service"),
        categories=tuple(item.get("categories", ())),
        pc4s=tuple(item.get("pc4s", ())),
        state=item.get("state", "fresh"),
        active=stored_bool(item.get("active", True)),
        revision=int(item.get("revision", 0)),
        state_at=float(item.get("state_at", 0.0)),
    )


def _offer_item(post: Post) -> dict[str, Any]:
    return {
        "owner_id": post.owner_id,
        "category": post.category,
        "hood": post.neighbourhood_code,
        "days": sorted(post.when.weekdays_meant()),
        "created_ts": post.created_at.timestamp(),
        "expires_ts": post.expires_at.timestamp(),
        "scope": post.scope.value,
        "group_id": post.group_id,
        "under_review": post.under_review,
    }


def _offer(item: dict[str, Any]) -> Offer:
    return Offer(
        id=item["ref"],
        owner_id=item.get("owner_id"),
        category=item["category"],
        neighbourhood_code=item["hood"],
        weekdays=frozenset(item.get("days") or ()),
        created_ts=float(item["created_ts"]),
        expires_ts=float(item["expires_ts"]),
        scope=Scope(item.get("scope", "tenant")),
        group_id=item.get("group_id"),
        under_review=stored_bool(item.get("under_review", False)),
    )


def _helper_item(h: Helper) -> dict[str, Any]:
    return {
        "hood": h.neighbourhood_code,
        "categories": list(h.categories),
        "days": sorted(h.weekdays),
        "parts": sorted(p.value for p in h.parts_of_day),
        "radius_km": h.radius_km,
        "responsiveness": h.responsiveness,
        "notify": h.notify.value,
        "email": h.email,
    }


def _helper(item: dict[str, Any]) -> Helper:
    return Helper(
        person_id=item["ref"],
        neighbourhood_code=item.get("hood"),
        categories=tuple(item["categories"]),
        weekdays=frozenset(item.get("days") or ()),
        parts_of_day=frozenset(PartOfDay(p) for p in item.get("parts") or ()),
        radius_km=float(item["radius_km"]),
        responsiveness=float(item["responsiveness"]),
        notify=NotifyMode(item["notify"]),
        email=item.get("email"),
    )


def _offer_key(post: Post) -> str:
    return f"offer|{post.category}|{post.neighbourhood_code}"


def _codes(codes: Iterable[str]) -> set[str]:
    return set(codes)


def _required_time(value: Any) -> datetime:
    moment = stored_datetime(value)
    assert moment is not None
    return moment


def post_document(post: Post) -> dict[str, Any]:
    """With `sweep_ts`: when the expiry sweep must look at the post next (its reminder, then
    its expiry; None once it is no longer open)."""
    sweep = None
    if post.status is PostStatus.OPEN:
        sweep = post.expires_at if post.reminded_at is not None else remind_at(post)
    return to_doc(post, post.id, expires_ts=epoch(post.expires_at), sweep_ts=epoch(sweep))


def offer_buckets(posts: Iterable[Post]) -> list[dict[str, Any]]:
    """The candidate buckets of open offers, for a bulk load (the benchmark): what
    `save_post` keeps one post at a time."""
    return [bucket_document(key, items) for key, items in _open_offers_by_bucket(posts).items()]


def _open_offers_by_bucket(posts: Iterable[Post]) -> dict[str, dict[str, dict[str, Any]]]:
    """The open offers among `posts` as bucket items: {bucket key: {post id: item}}."""
    buckets: dict[str, dict[str, dict[str, Any]]] = {}
    for post in posts:
        if post.kind is PostKind.OFFER and post.status is PostStatus.OPEN:
            item = {"ref": post.id, **_offer_item(post)}
            buckets.setdefault(_offer_key(post), {})[post.id] = item
    return buckets


#: A bucket's items by ref: a new item is one `$set` of `by_ref.<ref>`, no read (`add_posts`).
BY_REF = "by_ref"


def bucket_document(key: str, items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"_id": key, "rev": new_rev(), BY_REF: items}


def _joined(items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The `$set` that adds `items` to a bucket (made when missing) with a new revision."""
    return {**{f"{BY_REF}.{ref}": item for ref, item in items.items()}, "rev": new_rev()}


def bucket_items(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A bucket's items: those of a bucket written before `by_ref` (a list), then `by_ref`."""
    yield from doc.get("items") or ()
    yield from (doc.get(BY_REF) or {}).values()


class MongoRepository:
    """The tenant's marketplace database, optionally inside a transaction."""

    def __init__(
        self, db: Db, session: Session | None = None, *, decoded: DecodedBuckets = SHARED
    ) -> None:
        self._db = db
        self._s = session
        self._cache = decoded

    # -- projections -------------------------------------------------------------------------

    async def replace_neighbourhoods(self, rows: Sequence[Neighbourhood]) -> None:
        coll = self._db[NEIGHBOURHOODS]
        await coll.delete_many({}, session=self._s)
        if rows:
            await coll.insert_many(
                [
                    {
                        "_id": n.code,
                        "name": n.name,
                        "lat": n.lat,
                        "lon": n.lon,
                        "pc4s": list(n.pc4s),
                    }
                    for n in rows
                ],
                session=self._s,
            )

    async def neighbourhoods(self) -> list[Neighbourhood]:
        docs = await self._db[NEIGHBOURHOODS].find({}, session=self._s).to_list(None)
        return [
            Neighbourhood(d["_id"], d["name"], float(d["lat"]), float(d["lon"]), tuple(d["pc4s"]))
            for d in docs
        ]

    async def save_resident(self, profile: ResidentProfile) -> None:
        doc = _resident_doc(profile)
        await self._db[RESIDENTS].replace_one(
            {"_id": doc["_id"]}, doc, upsert=True, session=self._s
        )

    async def resident(self, person_id: str) -> ResidentProfile | None:
        doc = await self._db[RESIDENTS].find_one({"_id": person_id}, session=self._s)
        if doc is None:
            return None
        return ResidentProfile(
            doc["_id"],
            doc.get("neighbourhood_code"),
            doc.get("pc4"),
            doc.get("age_band"),
            float(doc.get("at") or 0.0),
        )

    async def save_organisation(self, organisation: Organisation) -> None:
        doc = {"_id": organisation.slug, "kind": organisation.kind}
        await self._db[ORGANISATIONS].replace_one(
            {"_id": organisation.slug}, doc, upsert=True, session=self._s
        )

    async def organisation(self, slug: str) -> Organisation | None:
        doc = await self._db[ORGANISATIONS].find_one({"_id": slug}, session=self._s)
        return None if doc is None else Organisation(doc["_id"], doc.get("kind", "welfare"))

    async def save_map_entry(self, entry: MapEntry) -> None:
        before = await self.map_entry(entry.entry_id)
        doc = {"_id": entry.entry_id, **_entry_item(entry)}
        await self._db[MAP_ENTRIES].replace_one(
            {"_id": entry.entry_id}, doc, upsert=True, session=self._s
        )
        now = _codes(entry.categories)
        gone = _codes(before.categories) - now if before is not None else set()
        for code in sorted(gone):
            await self._bucket_put(f"entry|{code}", entry.entry_id, None)
        for code in sorted(now):
            await self._bucket_put(f"entry|{code}", entry.entry_id, _entry_item(entry))

    async def map_entry(self, entry_id: str) -> MapEntry | None:
        doc = await self._db[MAP_ENTRIES].find_one({"_id": entry_id}, session=self._s)
        return None if doc is None else _map_entry({**doc, "ref": doc["_id"]})

    async def map_entries(self, codes: Sequence[str]) -> list[MapEntry]:
        return await self._decoded([f"entry|{c}" for c in codes], _map_entry)

    async def social_map_record(self, organisation: str) -> str | None:
        doc = await self._db[MAP_ENTRIES].find_one(
            {"owner_organisation": organisation}, session=self._s
        )
        return None if doc is None else str(doc["organization_id"])

    async def save_taxonomy(self, version: int, terms: Sequence[Category]) -> None:
        doc = {
            "_id": TAXONOMY,
            "version": version,
            "terms": [
                {
                    "code": t.code,
                    "parent": t.parent,
                    "nl": t.label_nl,
                    "en": t.label_en,
                    "dimensions": list(t.dimensions),
                }
                for t in terms
            ],
        }
        await self._db[CONFIG].replace_one({"_id": TAXONOMY}, doc, upsert=True, session=self._s)

    async def taxonomy(self) -> tuple[int, list[Category]] | None:
        doc = await self._db[CONFIG].find_one({"_id": TAXONOMY}, session=self._s)
        if doc is None:
            return None
        terms = [
            Category(t["code"], t.get("parent"), t["nl"], t["en"], tuple(t.get("dimensions") or ()))
            for t in doc["terms"]
        ]
        return int(doc["version"]), terms

    async def set_config(self, key: str, value: Any) -> None:
        await self._db[CONFIG].replace_one(
            {"_id": key}, {"_id": key, "value": value}, upsert=True, session=self._s
        )

    async def config(self, key: str) -> Any:
        doc = await self._db[CONFIG].find_one({"_id": key}, session=self._s)
        return None if doc is None else doc.get("value")

    # -- posts -------------------------------------------------------------------------------

    async def save_post(self, post: Post) -> None:
        doc = post_document(post)
        await self._db[POSTS].replace_one({"_id": post.id}, doc, upsert=True, session=self._s)
        if post.kind is PostKind.OFFER:
            item = _offer_item(post) if post.status is PostStatus.OPEN else None
            await self._bucket_put(_offer_key(post), post.id, item)

    async def add_posts(self, posts: Sequence[Post]) -> None:
        """One insert for the posts and one bulk write that adds each offer to its bucket
        (`$set` of `by_ref.<id>`), however many posts: on the embedded database every
        operation in a transaction costs a round trip (~10 ms measured on the loaded 2-core
        machine), and reading a bucket to write it back whole moved it over the wire twice
        (~64 KB per post with 50,000 open posts)."""
        if not posts:
            return
        await self._db[POSTS].insert_many([post_document(p) for p in posts], session=self._s)
        joining = _open_offers_by_bucket(posts)
        for key in joining:
            self._cache.forget(self._db.name, key)
        if joining:
            await self._db[BUCKETS].bulk_write(
                [
                    UpdateOne({"_id": key}, {"$set": _joined(items)}, upsert=True)
                    for key, items in joining.items()
                ],
                ordered=False,
                session=self._s,
            )

    async def _decoded(
        self, keys: Sequence[str], decode: Callable[[dict[str, Any]], Any]
    ) -> list[Any]:
        """The decoded items of several buckets, each ref once (the first bucket by key
        wins)."""
        [items] = await self._decoded_groups([(keys, decode)])
        return items

    async def _decoded_groups(
        self, groups: Sequence[tuple[Sequence[str], Callable[[dict[str, Any]], Any]]]
    ) -> list[list[Any]]:
        """`_decoded` for several groups of buckets (disjoint keys) in the same two reads:
        the buckets' revisions first, then, whole, only those this process has not decoded at
        that revision (`bucket_cache`); `$in` on `_id` uses the index."""
        name = self._db.name
        decoders = {key: decode for keys, decode in groups for key in keys}
        stamps = (
            await self._db[BUCKETS]
            .find({"_id": {"$in": sorted(decoders)}}, {"rev": 1}, session=self._s)
            .to_list(None)
        )
        found: dict[str, list[Decoded]] = {}
        stale = []
        for stamp in stamps:
            hit = self._cache.get(name, stamp["_id"], stamp.get("rev"))
            if hit is None:
                stale.append(stamp["_id"])
            else:
                found[stamp["_id"]] = hit
        if stale:
            docs = (
                await self._db[BUCKETS].find({"_id": {"$in": stale}}, session=self._s).to_list(None)
            )
            for doc in docs:
                decode = decoders[doc["_id"]]
                items = [(i["ref"], decode(i)) for i in bucket_items(doc)]
                self._cache.put(name, doc["_id"], doc.get("rev"), items)
                found[doc["_id"]] = items
        results = []
        for keys, _ in groups:
            seen: dict[str, Any] = {}
            for key in sorted(set(keys) & found.keys()):
                for ref, item in found[key]:
                    seen.setdefault(ref, item)
            results.append(list(seen.values()))
        return results

    async def _bucket_put(self, key: str, ref: str, item: dict[str, Any] | None) -> None:
        """Replace (or with None remove) the bucket's item `ref`. Read and written whole
        (a bucket written before `by_ref` keeps its items in a list, moved into `by_ref`
        here); the embedded server cannot `$pull` and `$unset` in one update."""
        self._cache.forget(self._db.name, key)
        doc = await self._db[BUCKETS].find_one({"_id": key}, session=self._s)
        items = {i["ref"]: i for i in bucket_items(doc or {}) if i["ref"] != ref}
        if item is not None:
            items[ref] = {"ref": ref, **item}
        await self._db[BUCKETS].replace_one(
            {"_id": key}, bucket_document(key, items), upsert=True, session=self._s
        )

    async def get_post(self, post_id: str) -> Post | None:
        doc = await self._db[POSTS].find_one({"_id": post_id}, session=self._s)
        return None if doc is None else from_doc(Post, doc)

    async def posts_page(
        self, query: PostQuery, keep: Callable[[Post], bool], *, limit: int, cursor: str | None
    ) -> tuple[list[Post], str | None]:
        """Newest first. Rules the database cannot express (`keep`) are applied while
        reading, in batches, so pages stay full; the cursor is the last row read."""
        base = query.filter()
        after = decode_cursor(cursor).get("id") if cursor else None
        found: list[Post] = []
        while True:
            flt = {**base, "_id": {"$lt": after}} if after is not None else base
            docs = (
                await self._db[POSTS]
                .find(flt, session=self._s)
                .sort("_id", DESCENDING)
                .limit(SCAN_BATCH)
                .to_list(None)
            )
            for doc in docs:
                after = doc["_id"]
                post = from_doc(Post, doc)
                if keep(post):
                    found.append(post)
                    if len(found) == limit:
                        return found, encode_cursor({"id": after})
            if len(docs) < SCAN_BATCH:
                return found, None

    async def open_offers(self, codes: Sequence[str], neighbourhood_code: str) -> list[Offer]:
        return await self._decoded([f"offer|{c}|{neighbourhood_code}" for c in codes], _offer)

    async def posts_due(self, now: datetime, limit: int) -> list[Post]:
        docs = (
            await self._db[POSTS]
            .find({"sweep_ts": {"$lte": now.timestamp()}}, session=self._s)
            .sort("sweep_ts", ASCENDING)
            .limit(limit)
            .to_list(None)
        )
        return [from_doc(Post, d) for d in docs]

    async def posts_of(self, owner_id: str) -> list[Post]:
        docs = self._db[POSTS].find({"owner_id": owner_id}, session=self._s).sort("_id", ASCENDING)
        return [from_doc(Post, d) async for d in docs]

    async def post_facts(self) -> list[PostFacts]:
        fields = {
            "kind": 1,
            "status": 1,
            "category": 1,
            "neighbourhood_code": 1,
            "created_at": 1,
            "first_response_at": 1,
        }
        out = []
        async for d in self._db[POSTS].find({}, fields, session=self._s):
            out.append(
                PostFacts(
                    d["_id"],
                    PostKind(d["kind"]),
                    PostStatus(d["status"]),
                    d["category"],
                    d["neighbourhood_code"],
                    _required_time(d["created_at"]),
                    stored_datetime(d.get("first_response_at")),
                )
            )
        return out

    # -- groups ------------------------------------------------------------------------------

    async def save_group(self, group: Group) -> None:
        await self._db[GROUPS].replace_one(
            {"_id": group.id}, to_doc(group, group.id), upsert=True, session=self._s
        )

    async def get_group(self, group_id: str) -> Group | None:
        doc = await self._db[GROUPS].find_one({"_id": group_id}, session=self._s)
        return None if doc is None else from_doc(Group, doc)

    async def groups(self) -> list[Group]:
        docs = self._db[GROUPS].find({}, session=self._s).sort("_id", ASCENDING)
        return [from_doc(Group, d) async for d in docs]

    async def save_membership(self, membership: Membership) -> None:
        key = f"{membership.group_id}|{membership.person_id}"
        await self._db[MEMBERSHIPS].replace_one(
            {"_id": key}, to_doc(membership, key), upsert=True, session=self._s
        )

    async def delete_membership(self, group_id: str, person_id: str) -> None:
        await self._db[MEMBERSHIPS].delete_one({"_id": f"{group_id}|{person_id}"}, session=self._s)

    async def membership(self, group_id: str, person_id: str) -> Membership | None:
        doc = await self._db[MEMBERSHIPS].find_one(
            {"_id": f"{group_id}|{person_id}"}, session=self._s
        )
        return None if doc is None else from_doc(Membership, doc, id_field=None)

    async def memberships_of(self, person_id: str) -> list[Membership]:
        docs = self._db[MEMBERSHIPS].find({"person_id": person_id}, session=self._s)
        return [from_doc(Membership, d, id_field=None) async for d in docs]

    async def members(self, group_id: str) -> list[Membership]:
        docs = (
            self._db[MEMBERSHIPS]
            .find({"group_id": group_id}, session=self._s)
            .sort("_id", ASCENDING)
        )
        return [from_doc(Membership, d, id_field=None) async for d in docs]

    # -- matches and messages ----------------------------------------------------------------

    async def save_match(self, match: Match) -> None:
        await self._db[MATCHES].replace_one(
            {"_id": match.id}, to_doc(match, match.id), upsert=True, session=self._s
        )

    async def get_match(self, match_id: str) -> Match | None:
        doc = await self._db[MATCHES].find_one({"_id": match_id}, session=self._s)
        return None if doc is None else from_doc(Match, doc)

    async def matches_of_post(self, post_id: str) -> list[Match]:
        docs = self._db[MATCHES].find({"post_id": post_id}, session=self._s).sort("_id", ASCENDING)
        return [from_doc(Match, d) async for d in docs]

    async def matches_of_person(self, person_id: str) -> list[Match]:
        found: dict[str, Match] = {}
        for field in ("responder_id", "owner_id"):
            async for d in self._db[MATCHES].find({field: person_id}, session=self._s):
                found[d["_id"]] = from_doc(Match, d)
        return [found[k] for k in sorted(found)]

    async def all_matches(self) -> list[Match]:
        return [from_doc(Match, d) async for d in self._db[MATCHES].find({}, session=self._s)]

    async def save_message(self, message: Message) -> None:
        await self._db[MESSAGES].replace_one(
            {"_id": message.id}, to_doc(message, message.id), upsert=True, session=self._s
        )

    async def get_message(self, message_id: str) -> Message | None:
        doc = await self._db[MESSAGES].find_one({"_id": message_id}, session=self._s)
        return None if doc is None else from_doc(Message, doc)

    async def messages(self, match_id: str) -> list[Message]:
        docs = (
            self._db[MESSAGES].find({"match_id": match_id}, session=self._s).sort("_id", ASCENDING)
        )
        return [from_doc(Message, d) async for d in docs]

    # -- safety ------------------------------------------------------------------------------

    async def save_report(self, report: Report) -> None:
        await self._db[REPORTS].replace_one(
            {"_id": report.id}, to_doc(report, report.id), upsert=True, session=self._s
        )

    async def get_report(self, report_id: str) -> Report | None:
        doc = await self._db[REPORTS].find_one({"_id": report_id}, session=self._s)
        return None if doc is None else from_doc(Report, doc)

    async def open_reports(self, group_id: str | None) -> list[Report]:
        flt = {"status": ReportStatus.OPEN.value, "group_id": group_id}
        docs = self._db[REPORTS].find(flt, session=self._s).sort("_id", ASCENDING)
        return [from_doc(Report, d) async for d in docs]

    async def reports_by(self, person_id: str) -> list[Report]:
        docs = self._db[REPORTS].find({"reporter_id": person_id}, session=self._s)
        return [from_doc(Report, d) async for d in docs]

    async def blocks_by(self, person_id: str) -> list[Block]:
        doc = await self._db[BLOCKS].find_one({"_id": person_id}, session=self._s)
        return [Block.model_validate(b) for b in restore_datetimes(doc or {}).get("blocks", [])]

    async def _block_doc(self, person_id: str) -> dict[str, Any]:
        doc = await self._db[BLOCKS].find_one({"_id": person_id}, session=self._s)
        return doc or {"_id": person_id, "blocks": [], "blocked_by": []}

    async def _save_block_doc(self, doc: dict[str, Any]) -> None:
        await self._db[BLOCKS].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=self._s)

    async def save_block(self, block: Block) -> None:
        """One document per person (whom they block, who blocks them): a person's blocks
        either way are one read."""
        mine = await self._block_doc(block.blocker_id)
        mine["blocks"] = [b for b in mine["blocks"] if b["blocked_id"] != block.blocked_id]
        mine["blocks"].append(plain(block.model_dump()))
        await self._save_block_doc(mine)
        theirs = await self._block_doc(block.blocked_id)
        if block.blocker_id not in theirs["blocked_by"]:
            theirs["blocked_by"].append(block.blocker_id)
        await self._save_block_doc(theirs)

    async def delete_block(self, blocker_id: str, blocked_id: str) -> bool:
        mine = await self._block_doc(blocker_id)
        kept = [b for b in mine["blocks"] if b["blocked_id"] != blocked_id]
        if len(kept) == len(mine["blocks"]):
            return False
        await self._save_block_doc({**mine, "blocks": kept})
        theirs = await self._block_doc(blocked_id)
        theirs["blocked_by"] = [p for p in theirs["blocked_by"] if p != blocker_id]
        await self._save_block_doc(theirs)
        return True

    async def blocked_either_way(self, person_id: str) -> frozenset[str]:
        doc = await self._block_doc(person_id)
        return frozenset([b["blocked_id"] for b in doc["blocks"]] + list(doc["blocked_by"]))

    async def save_certificate(self, certificate: Certificate) -> None:
        key = f"{certificate.organisation}|{certificate.person_id}"
        await self._db[CERTIFICATES].replace_one(
            {"_id": key}, to_doc(certificate, key), upsert=True, session=self._s
        )

    async def certificates_of(self, person_id: str) -> list[Certificate]:
        docs = self._db[CERTIFICATES].find({"person_id": person_id}, session=self._s)
        return [from_doc(Certificate, d, id_field=None) async for d in docs]

    # -- volunteers and notifications --------------------------------------------------------

    async def save_volunteer(self, profile: VolunteerProfile) -> None:
        pid = profile.person_id
        before = await self.volunteer(pid)
        await self._db[VOLUNTEERS].replace_one(
            {"_id": pid}, to_doc(profile, pid), upsert=True, session=self._s
        )
        now = _codes(profile.categories) if profile.active else set()
        gone = _codes(before.categories) - now if before is not None else set()
        for code in sorted(gone):
            await self._bucket_put(f"helper|{code}", pid, None)
        for code in sorted(now):
            await self._bucket_put(f"helper|{code}", pid, _helper_item(profile.helper()))

    async def volunteer(self, person_id: str) -> VolunteerProfile | None:
        doc = await self._db[VOLUNTEERS].find_one({"_id": person_id}, session=self._s)
        if doc is None:
            return None
        return from_doc(VolunteerProfile, doc, id_field=None)

    async def helpers_for(self, codes: Sequence[str]) -> list[Helper]:
        return await self._decoded([f"helper|{c}" for c in codes], _helper)

    async def family_candidates(
        self, codes: Sequence[str], hoods: Sequence[str]
    ) -> tuple[list[list[Offer]], list[Helper], list[MapEntry]]:
        groups: list[tuple[Sequence[str], Callable[[dict[str, Any]], Any]]] = [
            ([f"offer|{c}|{hood}" for c in codes], _offer) for hood in hoods
        ]
        groups += [([f"helper|{c}" for c in codes], _helper)]
        groups += [([f"entry|{c}" for c in codes], _map_entry)]
        *per_hood, helpers, entries = await self._decoded_groups(groups)
        return per_hood, helpers, entries

    async def add_notifications(self, notifications: Sequence[Notification]) -> None:
        if not notifications:
            return
        docs = [
            to_doc(n, n.id, digest_pending=n.delivery is Delivery.DIGEST and n.mailed_at is None)
            for n in notifications
        ]
        await self._db[NOTIFICATIONS].insert_many(docs, session=self._s)

    async def notifications_of(
        self, person_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Notification], str | None]:
        flt: dict[str, Any] = {"person_id": person_id}
        if cursor:
            flt["_id"] = {"$lt": decode_cursor(cursor).get("id")}
        docs = (
            await self._db[NOTIFICATIONS]
            .find(flt, session=self._s)
            .sort("_id", DESCENDING)
            .limit(limit + 1)
            .to_list(None)
        )
        more = len(docs) > limit
        docs = docs[:limit]
        items = [from_doc(Notification, d) for d in docs]
        return items, encode_cursor({"id": docs[-1]["_id"]}) if more else None

    async def digest_pending(self, limit: int) -> list[Notification]:
        docs = (
            await self._db[NOTIFICATIONS]
            .find({"digest_pending": True}, session=self._s)
            .sort("_id", ASCENDING)
            .limit(limit)
            .to_list(None)
        )
        return [from_doc(Notification, d) for d in docs]

    async def mark_mailed(self, notification: Notification, at: datetime) -> None:
        done = notification.model_copy(update={"mailed_at": at})
        await self._db[NOTIFICATIONS].replace_one(
            {"_id": done.id}, to_doc(done, done.id, digest_pending=False), session=self._s
        )

    # -- time credits ------------------------------------------------------------------------

    async def get_transfer(self, transfer_id: str) -> Transfer | None:
        doc = await self._db[TRANSFERS].find_one({"_id": transfer_id}, session=self._s)
        return None if doc is None else from_doc(Transfer, doc)

    async def add_transfer(self, transfer: Transfer, movements: Sequence[Movement]) -> None:
        await self._db[TRANSFERS].insert_one(to_doc(transfer, transfer.id), session=self._s)
        await self._db[MOVEMENTS].insert_many([to_doc(m, m.id) for m in movements], session=self._s)

    async def change_balance(
        self, group_id: str, person_id: str, delta: int, *, floor: int, ceiling: int
    ) -> bool:
        """Add `delta` unless the balance would leave [floor, ceiling]: one conditional
        update, so concurrent bookings cannot both pass a limit check (on MongoDB the losing
        transaction hits a write conflict and is retried; the embedded server serialises
        transactions per database)."""
        key = f"{group_id}|{person_id}"
        coll = self._db[ACCOUNTS]
        bound = {"$gte": floor - delta} if delta < 0 else {"$lte": ceiling - delta}
        for attempt in range(2):
            result = await coll.update_one(
                {"_id": key, "balance": bound}, {"$inc": {"balance": delta}}, session=self._s
            )
            if result.modified_count:
                return True
            if attempt or await coll.find_one({"_id": key}, {"_id": 1}, session=self._s):
                return False  # the account exists: the limit refused it
            # an account's first movement opens it (balance 0), then the update is tried again
            await coll.insert_one(
                {"_id": key, "group_id": group_id, "person_id": person_id, "balance": 0},
                session=self._s,
            )
        return False

    async def balance(self, group_id: str, person_id: str) -> int:
        doc = await self._db[ACCOUNTS].find_one({"_id": f"{group_id}|{person_id}"}, session=self._s)
        return 0 if doc is None else int(doc["balance"])

    async def balances(self, group_id: str) -> dict[str, int]:
        docs = self._db[ACCOUNTS].find({"group_id": group_id}, session=self._s)
        return {d["person_id"]: int(d["balance"]) async for d in docs}

    async def group_movements(self, group_id: str) -> list[Movement]:
        docs = (
            self._db[MOVEMENTS].find({"group_id": group_id}, session=self._s).sort("_id", ASCENDING)
        )
        return [from_doc(Movement, d) async for d in docs]

    async def transfers_of(self, person_id: str) -> list[Transfer]:
        found: dict[str, Transfer] = {}
        for field in ("from_person_id", "to_person_id"):
            async for d in self._db[TRANSFERS].find({field: person_id}, session=self._s):
                found[d["_id"]] = from_doc(Transfer, d)
        return [found[k] for k in sorted(found)]

    async def group_statistics(self, group_id: str) -> GroupStatistics:
        balances = await self.balances(group_id)
        return ledger.statistics(group_id, balances, await self.group_movements(group_id))

    # -- privacy -----------------------------------------------------------------------------

    async def consent_given(self, person_id: str, organisation: str, purpose: str) -> bool:
        # The shared projection (`consent_states`); identity's purposes are a closed list.
        return await consent.consent_given(self._db, person_id, organisation, cast(Any, purpose))

    async def record_access(
        self,
        *,
        principal: Principal,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None:
        await access_log.record_access(
            self._db,
            service="marketplace",
            principal=principal,
            resident=resident,
            action=action,
            resource=resource,
            reason=reason,
            on_behalf_of=on_behalf_of,
            session=self._s,
        )

    async def stage_mails(self, messages: Sequence[mail.Mail]) -> None:
        await mail.stage_mails(self._db, messages, session=self._s)

    async def erase_person(self, person_id: str, tombstone: str) -> dict[str, dict[str, int]]:
        """Delete what is the person's; keep the ledger whole under `tombstone` (one random
        id for all of the person's accounts, movements and transfers, so balances and group
        statistics stay consistent and nothing links back). Returns erased and anonymised
        counts."""
        db, s = self._db, self._s
        erased: dict[str, int] = {}
        anonymised: dict[str, int] = {}

        async def delete(coll: str, flt: dict[str, Any]) -> int:
            return int((await db[coll].delete_many(flt, session=s)).deleted_count)

        own_posts = [
            d["_id"] async for d in db[POSTS].find({"owner_id": person_id}, {"_id": 1}, session=s)
        ]
        # Matches on the person's posts and the person's responses go, with their messages.
        match_ids: set[str] = set()
        for post_id in own_posts:
            async for d in db[MATCHES].find({"post_id": post_id}, {"_id": 1}, session=s):
                match_ids.add(d["_id"])
        for field in ("responder_id", "owner_id"):
            async for d in db[MATCHES].find({field: person_id}, {"_id": 1}, session=s):
                match_ids.add(d["_id"])
        erased["messages"] = 0
        for match_id in sorted(match_ids):
            erased["messages"] += await delete(MESSAGES, {"match_id": match_id})
        erased["messages"] += await delete(MESSAGES, {"sender_id": person_id})
        # Messages the person wrote for a resident (a broker) stay the resident's: unlink.
        written = 0
        async for d in db[MESSAGES].find({"written_by": person_id}, session=s):
            await db[MESSAGES].replace_one(
                {"_id": d["_id"]}, {**d, "written_by": tombstone}, session=s
            )
            written += 1
        anonymised["messages_written_for_others"] = written
        erased["matches"] = 0
        for match_id in sorted(match_ids):
            erased["matches"] += await delete(MATCHES, {"_id": match_id})
        for d in await db[POSTS].find({"owner_id": person_id}, session=s).to_list(None):
            if d["kind"] == PostKind.OFFER.value:
                await self._bucket_put(_offer_key(from_doc(Post, d)), d["_id"], None)
        erased["posts"] = await delete(POSTS, {"owner_id": person_id})
        # Posts the person typed for someone else (a broker) stay the resident's: unlink them.
        typed = 0
        async for d in db[POSTS].find({"posted_by": person_id}, session=s):
            await db[POSTS].replace_one({"_id": d["_id"]}, {**d, "posted_by": tombstone}, session=s)
            typed += 1
        anonymised["posts_written_for_others"] = typed
        erased["memberships"] = await delete(MEMBERSHIPS, {"person_id": person_id})
        erased["reports"] = await delete(REPORTS, {"reporter_id": person_id})
        erased["reports"] += await delete(REPORTS, {"author_id": person_id})
        decided = 0
        async for d in db[REPORTS].find({"decided_by": person_id}, session=s):
            await db[REPORTS].replace_one(
                {"_id": d["_id"]}, {**d, "decided_by": tombstone}, session=s
            )
            decided += 1
        anonymised["reports_decided"] = decided
        own = await self._block_doc(person_id)
        for other in {b["blocked_id"] for b in own["blocks"]} | set(own["blocked_by"]):
            doc = await self._block_doc(other)
            doc["blocks"] = [b for b in doc["blocks"] if b["blocked_id"] != person_id]
            doc["blocked_by"] = [p for p in doc["blocked_by"] if p != person_id]
            await self._save_block_doc(doc)
        erased["blocks"] = len(own["blocks"])
        await delete(BLOCKS, {"_id": person_id})
        erased["certificates"] = await delete(CERTIFICATES, {"person_id": person_id})
        volunteer = await db[VOLUNTEERS].find_one({"_id": person_id}, session=s)
        if volunteer is not None and volunteer.get("email"):
            # mail already staged for the volunteer's address (digests, notices) goes too
            await delete(mail.MAIL_OUTBOX, {"to": volunteer["email"]})
        if volunteer is not None:
            for code in _codes(volunteer.get("categories", [])):
                await self._bucket_put(f"helper|{code}", person_id, None)
        erased["volunteer_profile"] = await delete(VOLUNTEERS, {"_id": person_id})
        erased["notifications"] = await delete(NOTIFICATIONS, {"person_id": person_id})
        # Replays of the person's requests (and of brokers' requests for them) hold their ids.
        replays = []
        async for d in db[IDEMPOTENCY].find({}, session=s):
            if person_id in json.dumps(d, default=str):
                replays.append(d["_id"])
        for replay in replays:
            await db[IDEMPOTENCY].delete_one({"_id": replay}, session=s)
        erased["request_replays"] = len(replays)
        erased["profile"] = await delete(RESIDENTS, {"_id": person_id})
        # Groups the person created keep existing under the tombstone.
        groups = 0
        async for d in db[GROUPS].find({"created_by": person_id}, session=s):
            await db[GROUPS].replace_one(
                {"_id": d["_id"]}, {**d, "created_by": tombstone}, session=s
            )
            groups += 1
        anonymised["groups"] = groups
        anonymised.update(await self._anonymise_ledger(person_id, tombstone))
        return {"erased": erased, "anonymised": anonymised}

    async def _anonymise_ledger(self, person_id: str, tombstone: str) -> dict[str, int]:
        db, s = self._db, self._s
        accounts = 0
        async for d in db[ACCOUNTS].find({"person_id": person_id}, session=s):
            await db[ACCOUNTS].delete_one({"_id": d["_id"]}, session=s)
            key = f"{d['group_id']}|{tombstone}"
            await db[ACCOUNTS].insert_one({**d, "_id": key, "person_id": tombstone}, session=s)
            accounts += 1
        movements = 0
        async for d in db[MOVEMENTS].find({"person_id": person_id}, session=s):
            await db[MOVEMENTS].replace_one(
                {"_id": d["_id"]}, {**d, "person_id": tombstone}, session=s
            )
            movements += 1
        linked: dict[str, dict[str, Any]] = {}
        for field in ("from_person_id", "to_person_id", "requested_by"):
            async for d in db[TRANSFERS].find({field: person_id}, session=s):
                linked[d["_id"]] = d
        for doc in linked.values():
            fields = ("from_person_id", "to_person_id", "requested_by")
            renamed = {f: tombstone for f in fields if doc.get(f) == person_id}
            await db[TRANSFERS].replace_one({"_id": doc["_id"]}, {**doc, **renamed}, session=s)
        transfers = len(linked)
        return {"accounts": accounts, "movements": movements, "transfers": transfers}
