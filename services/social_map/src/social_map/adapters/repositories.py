"""Persistence of the social map: the only module that reads or writes its collections.

`Repository` is what the service layer uses: it takes and returns domain objects, never a
raw document. `MongoRepository(db, session)` implements it on one tenant's database
(`wk_social_map_<tenant>`), inside the transaction of `runtime.commit` when given its
session; unit tests use an in-memory fake (`tests/unit/social_map_fakes.py`).

Storage layout notes (engine differences are otherwise handled by `wijkkracht_common.storage`):
replacement documents carry their own `_id` (the embedded server's `replace_one(upsert=True)`
does not take it from the filter); array fields are queried with `$in` (it misses equality
matches on an indexed array field); counters are created by insert, not by upsert.

Consents are the platform's one projection (`wijkkracht_common.consent`, collection
`consent_states`); this module only reads it, forgets a person in it, and moves states kept
in the social map's former `consents` collection into it (`adopt_legacy_consents`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, get_args

from wijkkracht_common import access_log, consent, erasure, mail
from wijkkracht_common.auth import Principal
from wijkkracht_common.events.identity import ConsentPurpose
from wijkkracht_common.idempotency import IDEMPOTENCY
from wijkkracht_common.storage import (
    ASCENDING,
    Database,
    IndexModel,
    IndexSpec,
    Session,
    stored_datetime,
)

from social_map.adapters.documents import ENTRIES as ENTRIES
from social_map.adapters.documents import (
    ExistingEntry,
    ImportedEntry,
    SearchRow,
    StoredEntry,
    entry_document,
    entry_summary,
    freshness_fields,
    legacy_consent_state,
    parse_entry,
    resident_fields,
    resident_of,
    response_document,
    response_of,
    search_json,
    stored_entry,
    sweep_document,
    sweep_of,
    task_document,
    task_of,
)
from social_map.bulk import gc_paused
from social_map.domain.freshness import EntrySummary, FreshnessPolicy, FreshnessState
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Entry, Organization
from social_map.domain.residents import Resident, ResponseScores
from social_map.domain.sweeps import SweepReport
from social_map.domain.tasks import CorrectionTask
from social_map.domain.taxonomy import Category, Taxonomy, default_taxonomy
from social_map.domain.tenant_view import TenantView
from social_map.domain.text_analysis import Analyzer

Db = Database[dict[str, Any]]

CONFIG = "config"
ORGANISATIONS = "organisations"
NEIGHBOURHOODS = "neighbourhoods"
RESIDENTS = "residents"
#: The social map's own consent projection before `wijkkracht_common.consent`: read only to
#: move its states into the platform's one (`adopt_legacy_consents`), emptied by erasure.
LEGACY_CONSENTS = "consents"
RESPONSES = "responses"
TASKS = "tasks"
SWEEPS = "sweeps"
#: Entry documents per query when the search index reads them all.
SEARCH_ROWS_PAGE = 1000
SEQ = "entry_seq"  # CONFIG document: the tenant's entry change counter

# No index may name `_id` (every insert fails on the embedded server; see the developer guide).
INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(
        ENTRIES,
        (
            IndexModel([("organization_id", ASCENDING)]),
            IndexModel([("owner_slug", ASCENDING)]),
            IndexModel([("next_check_at", ASCENDING)]),
            IndexModel([("pc4s", ASCENDING)]),
            IndexModel([("tokens_version", ASCENDING)]),
            IndexModel([("seq", ASCENDING)]),
        ),
    ),
    IndexSpec(NEIGHBOURHOODS, (IndexModel([("pc4", ASCENDING)]),)),
    IndexSpec(
        TASKS,
        (
            IndexModel([("owner_slug", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("entry_id", ASCENDING)]),
        ),
    ),
    IndexSpec(RESPONSES, (IndexModel([("person_id", ASCENDING)]),)),
    # declared so they exist before a transaction's first read names them (the embedded
    # server ends such a transaction on the spot)
    IndexSpec(CONFIG),
    IndexSpec(ORGANISATIONS),
    IndexSpec(RESIDENTS),
    IndexSpec(LEGACY_CONSENTS),
    IndexSpec(SWEEPS),
)

#: How many entries one pass of the freshness sweep reads at a time.
DUE_BATCH = 500


class Repository(Protocol):
    """One tenant's social map; inside a use case's transaction every call is part of it."""

    @property
    def name(self) -> str:
        """The tenant database's name (a key for per-tenant caches)."""
        ...

    # tenant configuration
    async def load_taxonomy(self) -> tuple[Taxonomy, int]: ...
    async def save_taxonomy(self, taxonomy: Taxonomy, version: int) -> None: ...
    async def taxonomy_announced(self) -> int | None: ...
    async def save_taxonomy_announced(self, version: int) -> None: ...
    async def load_policy(self) -> tuple[FreshnessPolicy, int]: ...
    async def policy_version(self) -> int: ...
    async def save_policy(self, policy: FreshnessPolicy) -> int: ...
    async def feed_generation(self, code: str) -> int: ...
    async def next_feed_generation(self, code: str) -> int: ...
    async def demo_reference(self) -> datetime | None: ...
    async def save_demo_reference(self, reference: datetime) -> None: ...

    # owner records
    async def get_organisation(self, org_id: str) -> Organization | None: ...
    async def organisations(self, ids: Iterable[str] | None = None) -> dict[str, Organization]: ...
    async def save_organisation(self, org: Organization) -> None: ...

    # entries
    async def get_entry(self, entry_id: str) -> StoredEntry | None: ...
    async def save_entry(
        self,
        entry: Entry,
        *,
        owner_slug: str | None,
        version: int,
        view: TenantView,
        now: datetime,
        freshness: FreshnessState | None = None,
    ) -> StoredEntry: ...
    async def set_freshness(
        self,
        entry: Entry,
        state: FreshnessState,
        *,
        version: int,
        policy: FreshnessPolicy,
        now: datetime,
    ) -> None: ...
    async def due_for_check(self, now: datetime, limit: int = DUE_BATCH) -> list[str]: ...
    async def recheck_all_entries(self, at: datetime) -> None: ...
    async def used_category_codes(self) -> set[str]: ...
    async def retokenise_entries(self, analyzer: Analyzer, taxonomy: Taxonomy) -> None: ...
    async def entry_summaries(self, owner_slugs: Sequence[str] | None) -> list[EntrySummary]: ...
    async def entries_in_pc4s(self, pc4s: Iterable[str]) -> list[StoredEntry]: ...
    async def all_entries(self) -> list[StoredEntry]: ...
    async def entries_by_ids(self, ids: Sequence[str]) -> list[StoredEntry]: ...
    async def shown_entry_versions(self, categories: Iterable[str]) -> dict[str, int]: ...
    async def existing_entries(self, ids: Sequence[str]) -> dict[str, ExistingEntry]: ...
    async def write_imported(
        self,
        entries: Sequence[ImportedEntry],
        *,
        replaced: Sequence[str],
        view: TenantView,
        now: datetime,
    ) -> None: ...
    async def current_seq(self) -> tuple[str | None, int]: ...
    async def search_rows(self, after_seq: int | None) -> list[SearchRow]: ...

    # correction tasks
    async def add_task(self, task: CorrectionTask) -> None: ...
    async def close_tasks(self, entry_id: str, at: datetime) -> None: ...
    async def tasks(
        self, owner_slugs: Sequence[str] | None, status: str | None
    ) -> list[CorrectionTask]: ...
    async def entries_reported_by(self, person_id: str) -> set[str]: ...
    async def reports_by(self, person_id: str) -> list[CorrectionTask]: ...
    async def rename_reporter(self, person_id: str, replacement: str) -> int: ...
    async def entries_assured_by(self, person_id: str) -> list[StoredEntry]: ...

    # freshness sweeps run on request
    async def save_sweep(self, report: SweepReport) -> None: ...
    async def sweep_report(self, sweep_id: str) -> SweepReport | None: ...
    async def rename_sweep_actor(self, person_id: str, replacement: str) -> int: ...

    # identity's neighbourhood table (projection)
    async def replace_neighbourhoods(self, table: Sequence[Neighbourhood]) -> None: ...
    async def neighbourhoods(self) -> list[Neighbourhood]: ...
    async def neighbourhood(self, code: str) -> Neighbourhood | None: ...
    async def neighbourhood_of_pc4(self, pc4: str) -> Neighbourhood | None: ...

    # residents, responses (projections) and the platform's consent projection
    async def save_resident(self, resident: Resident) -> None: ...
    async def resident(self, person_id: str) -> Resident | None: ...
    async def has_consent(
        self, person_id: str, organisation: str, purpose: ConsentPurpose
    ) -> bool: ...
    async def consents_of(self, person_id: str) -> dict[str, list[str]]: ...
    async def adopt_legacy_consents(self, tenant: str) -> int: ...
    async def save_response(self, response: ResponseScores) -> None: ...
    async def response(self, response_id: str) -> ResponseScores | None: ...
    async def responses_of(self, person_id: str) -> list[ResponseScores]: ...
    async def erase_resident_data(self, person_id: str) -> dict[str, int]: ...

    # the erasure's platform parts
    async def forget_requests(self, person_id: str) -> int: ...
    async def anonymise_access_log(self, person_id: str) -> int: ...
    async def remember_erased(self, tenant: str, person_id: str) -> None: ...

    # the platform's shared tables (mail outbox, access log)
    async def stage_mail(self, message: mail.Mail) -> None: ...
    async def record_access(
        self,
        *,
        service: str,
        principal: Principal,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None: ...


class MongoRepository:
    """`Repository` on one tenant's database, inside a transaction when given its session."""

    def __init__(self, db: Db, session: Session | None = None) -> None:
        self._db = db
        self._session = session

    @property
    def name(self) -> str:
        return str(self._db.name)

    # --- tenant configuration: taxonomy, freshness policy, feed generations --------------------

    async def load_taxonomy(self) -> tuple[Taxonomy, int]:
        """The tenant's taxonomy and its version (0 = the default, never edited)."""
        doc = await self._db[CONFIG].find_one({"_id": "taxonomy"}, session=self._session)
        if doc is None:
            return default_taxonomy(), 0
        categories = (Category.model_validate(c) for c in doc["categories"])
        return Taxonomy.build(categories), int(doc["v"])

    async def save_taxonomy(self, taxonomy: Taxonomy, version: int) -> None:
        await self._db[CONFIG].replace_one(
            {"_id": "taxonomy"},
            {
                "_id": "taxonomy",
                "v": version,
                "categories": [c.model_dump(mode="json") for c in taxonomy.categories],
            },
            upsert=True,
            session=self._session,
        )

    async def taxonomy_announced(self) -> int | None:
        """The taxonomy version last published as `taxonomy_changed` (None: never)."""
        doc = await self._db[CONFIG].find_one({"_id": "taxonomy_announced"}, session=self._session)
        return None if doc is None else int(doc["v"])

    async def save_taxonomy_announced(self, version: int) -> None:
        await self._db[CONFIG].replace_one(
            {"_id": "taxonomy_announced"},
            {"_id": "taxonomy_announced", "v": version},
            upsert=True,
            session=self._session,
        )

    async def load_policy(self) -> tuple[FreshnessPolicy, int]:
        """The tenant's freshness policy and its version (0: the default, never written)."""
        doc = await self._db[CONFIG].find_one({"_id": "policy"}, session=self._session)
        if doc is None:
            return FreshnessPolicy(), 0
        return FreshnessPolicy.model_validate(doc["policy"]), _policy_version(doc)

    async def policy_version(self) -> int:
        """The policy's version alone: how a cached policy is checked against the database."""
        doc = await self._db[CONFIG].find_one(
            {"_id": "policy"}, projection={"v": 1}, session=self._session
        )
        return 0 if doc is None else _policy_version(doc)

    async def save_policy(self, policy: FreshnessPolicy) -> int:
        """Store the policy under the next version (returned); concurrent writers serialise on
        the document, so every write gets its own version."""
        version = await self.policy_version() + 1
        await self._db[CONFIG].replace_one(
            {"_id": "policy"},
            {"_id": "policy", "policy": policy.model_dump(), "v": version},
            upsert=True,
            session=self._session,
        )
        return version

    async def feed_generation(self, code: str) -> int:
        doc = await self._db[CONFIG].find_one({"_id": _feed_id(code)}, session=self._session)
        return 0 if doc is None else int(doc["g"])

    async def next_feed_generation(self, code: str) -> int:
        """Bump the neighbourhood's feed generation (created by insert, not upsert)."""
        coll, gid = self._db[CONFIG], _feed_id(code)
        result = await coll.update_one({"_id": gid}, {"$inc": {"g": 1}}, session=self._session)
        if result.matched_count == 0:
            await coll.insert_one({"_id": gid, "g": 1}, session=self._session)
            return 1
        doc = await coll.find_one({"_id": gid}, session=self._session)
        return int(doc["g"]) if doc else 1

    async def demo_reference(self) -> datetime | None:
        doc = await self._db[CONFIG].find_one({"_id": "demo"}, session=self._session)
        return None if doc is None else stored_datetime(doc["reference"])

    async def save_demo_reference(self, reference: datetime) -> None:
        await self._db[CONFIG].insert_one(
            {"_id": "demo", "reference": reference}, session=self._session
        )

    # --- owner records ---------------------------------------------------------------------

    async def get_organisation(self, org_id: str) -> Organization | None:
        doc = await self._db[ORGANISATIONS].find_one({"_id": org_id}, session=self._session)
        return None if doc is None else Organization.model_validate(doc["org"])

    async def organisations(self, ids: Iterable[str] | None = None) -> dict[str, Organization]:
        query: dict[str, Any] = {} if ids is None else {"_id": {"$in": list(ids)}}
        cursor = self._db[ORGANISATIONS].find(query, session=self._session)
        return {d["_id"]: Organization.model_validate(d["org"]) async for d in cursor}

    async def save_organisation(self, org: Organization) -> None:
        await self._db[ORGANISATIONS].replace_one(
            {"_id": org.id},
            {"_id": org.id, "org": org.model_dump(mode="json"), "owner_slug": org.tenant_org_slug},
            upsert=True,
            session=self._session,
        )

    # --- entries -------------------------------------------------------------------------------

    async def get_entry(self, entry_id: str) -> StoredEntry | None:
        doc = await self._db[ENTRIES].find_one({"_id": entry_id}, session=self._session)
        return None if doc is None else stored_entry(doc)

    async def bump_seq(self) -> int:
        """Next value of the tenant's entry change counter, inside the writing transaction.

        Every write of an entry document stamps it as `seq`. Concurrent writers serialise on
        the counter document (the embedded server serialises transactions; MongoDB aborts one
        with a write conflict and it is retried), so `seq` order is commit order and
        `seq > n` finds every change after `n`.
        """
        coll = self._db[CONFIG]
        result = await coll.update_one({"_id": SEQ}, {"$inc": {"n": 1}}, session=self._session)
        if result.matched_count == 0:
            await coll.insert_one(
                {"_id": SEQ, "n": 1, "epoch": uuid.uuid4().hex}, session=self._session
            )
            return 1
        doc = await coll.find_one({"_id": SEQ}, session=self._session)
        return int(doc["n"]) if doc else 1

    async def current_seq(self) -> tuple[str | None, int]:
        """(epoch, n) of the change counter; the epoch changes when the database is recreated."""
        doc = await self._db[CONFIG].find_one({"_id": SEQ}, session=self._session)
        return (None, 0) if doc is None else (str(doc.get("epoch")), int(doc["n"]))

    async def save_entry(
        self,
        entry: Entry,
        *,
        owner_slug: str | None,
        version: int,
        view: TenantView,
        now: datetime,
        freshness: FreshnessState | None = None,
    ) -> StoredEntry:
        """Write the whole entry document; `freshness`: the state last announced (None:
        computed now, announcing nothing). Returns what is stored."""
        doc = entry_document(
            entry,
            owner_slug=owner_slug,
            policy=view.policy,
            now=now,
            version=version,
            freshness=freshness,
            analyzer=view.analyzer,
            taxonomy=view.taxonomy,
        )
        doc["seq"] = await self.bump_seq()
        await self._db[ENTRIES].replace_one(
            {"_id": doc["_id"]}, doc, upsert=True, session=self._session
        )
        return StoredEntry(entry, owner_slug, FreshnessState(doc["freshness"]), version)

    async def set_freshness(
        self,
        entry: Entry,
        state: FreshnessState,
        *,
        version: int,
        policy: FreshnessPolicy,
        now: datetime,
    ) -> None:
        fields = freshness_fields(entry, state, policy, now, version)
        fields["seq"] = await self.bump_seq()
        await self._db[ENTRIES].update_one(
            {"_id": entry.id}, {"$set": fields}, session=self._session
        )

    async def due_for_check(self, now: datetime, limit: int = DUE_BATCH) -> list[str]:
        """Ids of entries whose next freshness check is due at `now`."""
        cursor = self._db[ENTRIES].find(
            {"next_check_at": {"$lte": now}}, projection={"_id": 1}, session=self._session
        )
        return [d["_id"] for d in await cursor.limit(limit).to_list(None)]

    async def recheck_all_entries(self, at: datetime) -> None:
        """Every entry's next freshness check becomes `at` (after a policy change). Counted as
        a change of entries (the counter steps), so every transaction that writes an entry
        conflicts with this one or follows it: none commits a check under the old policy."""
        await self.bump_seq()
        await self._db[ENTRIES].update_many(
            {}, {"$set": {"next_check_at": at}}, session=self._session
        )

    async def used_category_codes(self) -> set[str]:
        return set(await self._db[ENTRIES].distinct("category_codes", session=self._session))

    async def retokenise_entries(self, analyzer: Analyzer, taxonomy: Taxonomy) -> None:
        """Re-project every entry for search under a new taxonomy (one change counter step)."""
        docs = await self._db[ENTRIES].find({}, session=self._session).to_list(None)
        seq = await self.bump_seq()
        for doc in docs:
            stored = stored_entry(doc)
            await self._db[ENTRIES].update_one(
                {"_id": doc["_id"]},
                {
                    "$set": {
                        "v": stored.version + 1,
                        "tokens_version": analyzer.version,
                        "search": search_json(stored.entry, analyzer, taxonomy),
                        "seq": seq,
                    }
                },
                session=self._session,
            )

    async def entry_summaries(self, owner_slugs: Sequence[str] | None) -> list[EntrySummary]:
        query: dict[str, Any] = {} if owner_slugs is None else {"owner_slug": {"$in": owner_slugs}}
        cursor = self._db[ENTRIES].find(
            query,
            projection={"organization_id": 1, "name": 1, "assured_at": 1, "open_reporters": 1},
            session=self._session,
        )
        return [entry_summary(d) for d in await cursor.to_list(None)]

    async def entries_in_pc4s(self, pc4s: Iterable[str]) -> list[StoredEntry]:
        cursor = self._db[ENTRIES].find({"pc4s": {"$in": list(pc4s)}}, session=self._session)
        return [stored_entry(d) for d in await cursor.to_list(None)]

    async def all_entries(self) -> list[StoredEntry]:
        cursor = self._db[ENTRIES].find({}, session=self._session).sort("_id", ASCENDING)
        return [stored_entry(d) for d in await cursor.to_list(None)]

    async def entries_by_ids(self, ids: Sequence[str]) -> list[StoredEntry]:
        cursor = self._db[ENTRIES].find({"_id": {"$in": list(ids)}}, session=self._session)
        return [stored_entry(d) for d in await cursor.to_list(None)]

    async def shown_entry_versions(self, categories: Iterable[str]) -> dict[str, int]:
        """id → version of the entries in these categories that are not hidden."""
        cursor = self._db[ENTRIES].find(
            {"category_codes": {"$in": sorted(categories)}, "hidden": {"$ne": True}},
            projection={"v": 1},
            session=self._session,
        )
        return {d["_id"]: int(d.get("v", 0)) async for d in cursor}

    async def existing_entries(self, ids: Sequence[str]) -> dict[str, ExistingEntry]:
        """The entries of `ids` that exist (imports: insert, replace or skip)."""
        docs = (
            await self._db[ENTRIES]
            .find(
                {"_id": {"$in": list(ids)}}, projection={"v": 1, "entry": 1}, session=self._session
            )
            .to_list(None)
        )
        with gc_paused():  # synchronous: parses up to a batch of entries
            return {
                d["_id"]: ExistingEntry(int(d.get("v", 0)), parse_entry(d["entry"])) for d in docs
            }

    async def write_imported(
        self,
        entries: Sequence[ImportedEntry],
        *,
        replaced: Sequence[str],
        view: TenantView,
        now: datetime,
    ) -> None:
        """One import batch: replaced entries are deleted and written again with the new ones
        by one insert_many (~15x faster than one by one), all under one counter step."""
        with gc_paused():  # synchronous: builds a batch of documents
            docs = [
                entry_document(
                    item.entry,
                    owner_slug=item.owner_slug,
                    policy=view.policy,
                    now=now,
                    version=item.version,
                    analyzer=view.analyzer,
                    taxonomy=view.taxonomy,
                )
                for item in entries
            ]
        if replaced:
            await self._db[ENTRIES].delete_many(
                {"_id": {"$in": list(replaced)}}, session=self._session
            )
        await insert_entries(self._db, docs, session=self._session)

    async def search_rows(self, after_seq: int | None) -> list[SearchRow]:
        """Entry documents without their body, for the search index: all of them, or those
        changed after `after_seq`. Read in windows of the indexed `seq` (sized to about
        `SEARCH_ROWS_PAGE` documents each), every window its own query: one cursor over
        50,000 documents outlived the client's operation timeout on a busy machine, and
        paging by `_id` scans the collection per page on the embedded server."""
        _, top = await self.current_seq()
        rows: list[SearchRow] = []
        low, width = (-1 if after_seq is None else after_seq), 1
        while low < top:
            high = min(low + width, top)
            page = (
                await self._db[ENTRIES]
                .find(
                    {"seq": {"$gt": low, "$lte": high}},
                    projection={"entry": 0},
                    session=self._session,
                )
                .to_list(None)
            )
            rows += (SearchRow(d) for d in page)
            low = high
            if len(page) < SEARCH_ROWS_PAGE // 2:
                width *= 2
            elif len(page) > SEARCH_ROWS_PAGE * 2:
                width = max(1, width // 2)
        if after_seq is None:  # documents from before the counter (none written since)
            legacy = self._db[ENTRIES].find(
                {"seq": {"$exists": False}}, projection={"entry": 0}, session=self._session
            )
            rows += (SearchRow(d) for d in await legacy.to_list(None))
        # documents written after `top` was read come with the next catch-up (their seq is
        # above the counter value the index keeps)
        return rows

    # --- correction tasks ----------------------------------------------------------------------

    async def add_task(self, task: CorrectionTask) -> None:
        await self._db[TASKS].insert_one(task_document(task), session=self._session)

    async def close_tasks(self, entry_id: str, at: datetime) -> None:
        await self._db[TASKS].update_many(
            {"entry_id": entry_id, "status": "open"},
            {"$set": {"status": "done", "closed_at": at}},
            session=self._session,
        )

    async def tasks(
        self, owner_slugs: Sequence[str] | None, status: str | None
    ) -> list[CorrectionTask]:
        """Oldest first, at most 500; `owner_slugs` None = every owner."""
        query: dict[str, Any] = {} if owner_slugs is None else {"owner_slug": {"$in": owner_slugs}}
        if status:
            query["status"] = status
        cursor = self._db[TASKS].find(query, session=self._session).sort("created_at", ASCENDING)
        return [task_of(d) for d in await cursor.to_list(500)]

    async def entries_reported_by(self, person_id: str) -> set[str]:
        cursor = self._db[TASKS].find(
            {"reporter": person_id}, projection={"entry_id": 1}, session=self._session
        )
        return {d["entry_id"] async for d in cursor}

    async def reports_by(self, person_id: str) -> list[CorrectionTask]:
        """The person's "dit klopt niet meer" reports (their tasks), oldest first."""
        cursor = self._db[TASKS].find({"reporter": person_id}, session=self._session)
        return sorted([task_of(d) async for d in cursor], key=lambda t: t.created_at)

    async def rename_reporter(self, person_id: str, replacement: str) -> int:
        result = await self._db[TASKS].update_many(
            {"reporter": person_id}, {"$set": {"reporter": replacement}}, session=self._session
        )
        return int(result.modified_count)

    async def entries_assured_by(self, person_id: str) -> list[StoredEntry]:
        """Entries the person last confirmed or edited (staff). The body is a JSON string, so
        its text is searched for the id (a scan: erasure only) and each match checked."""
        cursor = self._db[ENTRIES].find(
            {"entry": {"$regex": re.escape(person_id)}}, session=self._session
        )
        found = [stored_entry(d) async for d in cursor]
        return [s for s in found if s.entry.assured_by == person_id]

    # --- freshness sweeps run on request -----------------------------------------------------

    async def save_sweep(self, report: SweepReport) -> None:
        await self._db[SWEEPS].insert_one(sweep_document(report), session=self._session)

    async def sweep_report(self, sweep_id: str) -> SweepReport | None:
        doc = await self._db[SWEEPS].find_one({"_id": sweep_id}, session=self._session)
        return None if doc is None else sweep_of(doc)

    async def rename_sweep_actor(self, person_id: str, replacement: str) -> int:
        result = await self._db[SWEEPS].update_many(
            {"actor": person_id}, {"$set": {"actor": replacement}}, session=self._session
        )
        return int(result.modified_count)

    # --- identity's neighbourhood table --------------------------------------------------------

    async def replace_neighbourhoods(self, table: Sequence[Neighbourhood]) -> None:
        await self._db[NEIGHBOURHOODS].delete_many({}, session=self._session)
        if table:
            await self._db[NEIGHBOURHOODS].insert_many(
                [{"_id": n.code, **n.model_dump()} for n in table], session=self._session
            )

    async def neighbourhoods(self) -> list[Neighbourhood]:
        cursor = self._db[NEIGHBOURHOODS].find({}, session=self._session).sort("code", ASCENDING)
        return [Neighbourhood.model_validate(d) for d in await cursor.to_list(None)]

    async def neighbourhood(self, code: str) -> Neighbourhood | None:
        doc = await self._db[NEIGHBOURHOODS].find_one({"_id": code}, session=self._session)
        return None if doc is None else Neighbourhood.model_validate(doc)

    async def neighbourhood_of_pc4(self, pc4: str) -> Neighbourhood | None:
        doc = await self._db[NEIGHBOURHOODS].find_one(
            {"pc4": {"$in": [pc4]}}, session=self._session
        )
        return None if doc is None else Neighbourhood.model_validate(doc)

    # --- residents, consents, responses ------------------------------------------------------

    async def save_resident(self, resident: Resident) -> None:
        await self._db[RESIDENTS].update_one(
            {"_id": resident.person_id},
            {"$set": resident_fields(resident)},
            upsert=True,
            session=self._session,
        )

    async def resident(self, person_id: str) -> Resident | None:
        doc = await self._db[RESIDENTS].find_one({"_id": person_id}, session=self._session)
        return None if doc is None else resident_of(doc)

    async def has_consent(self, person_id: str, organisation: str, purpose: ConsentPurpose) -> bool:
        return await consent.consent_given(self._db, person_id, organisation, purpose)

    async def consents_of(self, person_id: str) -> dict[str, list[str]]:
        """Purpose → organisations the person allows it now (purposes without any left out)."""
        found: dict[str, list[str]] = {}
        for purpose in get_args(ConsentPurpose):
            orgs = await consent.organisations_with_consent(self._db, person_id, purpose)
            if orgs:
                found[purpose] = orgs
        return found

    async def adopt_legacy_consents(self, tenant: str) -> int:
        """Move the states of the former `consents` collection into the platform's
        projection (a newer state there wins) and delete them; an erased person's are only
        deleted. Returns how many were moved."""
        docs = await self._db[LEGACY_CONSENTS].find({}, session=self._session).to_list(None)
        adopted = 0
        for doc in docs:
            state = legacy_consent_state(doc)
            if not await erasure.is_erased(
                self._db, tenant, state.person_id, session=self._session
            ):
                await consent.apply_change(self._db, state, session=self._session)
                adopted += 1
            await self._db[LEGACY_CONSENTS].delete_one({"_id": doc["_id"]}, session=self._session)
        return adopted

    async def save_response(self, response: ResponseScores) -> None:
        await self._db[RESPONSES].replace_one(
            {"_id": response.response_id},
            response_document(response),
            upsert=True,
            session=self._session,
        )

    async def response(self, response_id: str) -> ResponseScores | None:
        doc = await self._db[RESPONSES].find_one({"_id": response_id}, session=self._session)
        return None if doc is None else response_of(doc)

    async def responses_of(self, person_id: str) -> list[ResponseScores]:
        cursor = self._db[RESPONSES].find({"person_id": person_id}, session=self._session)
        return sorted([response_of(d) async for d in cursor], key=lambda r: r.response_id)

    async def erase_resident_data(self, person_id: str) -> dict[str, int]:
        """Delete the person's profile, responses and consent states (the platform's
        projection and any left in the former one); counts per kind."""
        erased: dict[str, int] = {}
        for coll, query in (
            (RESIDENTS, {"_id": person_id}),
            (RESPONSES, {"person_id": person_id}),
            (LEGACY_CONSENTS, {"person_id": person_id}),
        ):
            result = await self._db[coll].delete_many(query, session=self._session)
            erased[coll] = int(result.deleted_count)
        erased["consents"] += await consent.forget_person(
            self._db, person_id, session=self._session
        )
        return erased

    # --- the erasure's platform parts ----------------------------------------------------------

    async def forget_requests(self, person_id: str) -> int:
        """Delete the stored results of the person's own requests (`Idempotency-Key`
        replays): their keys are scoped `<caller>:<route>`, so they begin with the id."""
        result = await self._db[IDEMPOTENCY].delete_many(
            {"_id": {"$regex": f"^{re.escape(person_id)}:"}}, session=self._session
        )
        return int(result.deleted_count)

    async def anonymise_access_log(self, person_id: str) -> int:
        return await access_log.anonymise_resident(self._db, person_id, session=self._session)

    async def remember_erased(self, tenant: str, person_id: str) -> None:
        await erasure.remember_erased(self._db, tenant, person_id, session=self._session)

    # --- the platform's shared tables ----------------------------------------------------------

    async def stage_mail(self, message: mail.Mail) -> None:
        await mail.stage_mail(self._db, message, session=self._session)

    async def record_access(
        self,
        *,
        service: str,
        principal: Principal,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None:
        await access_log.record_access(
            self._db,
            service=service,
            principal=principal,
            resident=resident,
            action=action,
            resource=resource,
            reason=reason,
            on_behalf_of=on_behalf_of,
            session=self._session,
        )


def _feed_id(code: str) -> str:
    return f"feed:{code}"


def _policy_version(doc: dict[str, Any]) -> int:
    return int(doc.get("v", 1))  # policies stored before versions: the first version


async def insert_entries(
    db: Db, docs: Sequence[dict[str, Any]], *, session: Session | None
) -> None:
    """Batch insert of new entry documents (imports) under one change counter step."""
    if docs:
        seq = await MongoRepository(db, session).bump_seq()
        for doc in docs:
            doc["seq"] = seq
        await db[ENTRIES].insert_many(list(docs), ordered=False, session=session)


async def replace_neighbourhoods(
    db: Db, table: Sequence[Neighbourhood], *, session: Session | None
) -> None:
    """Module-level form for tools that hold a database (benchmarks)."""
    await MongoRepository(db, session).replace_neighbourhoods(table)
