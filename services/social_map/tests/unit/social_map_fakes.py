"""In-memory fakes for use-case tests without a database (imported as a plain module).

`FakeRepository` implements `adapters.repositories.Repository` on plain Python objects with
the domain's own rules (freshness state, next check); `FakeRuntime.commit` runs the work
directly, keeps the events it staged, and rolls the tenant's data back when the work fails,
like a transaction. Model: cosmicpython's tests/unit/test_handlers.py.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from social_map.adapters.documents import (
    ExistingEntry,
    ImportedEntry,
    SearchRow,
    StoredEntry,
    open_reporters,
    search_json,
)
from social_map.domain.freshness import (
    EntrySummary,
    FreshnessPolicy,
    FreshnessState,
    freshness_state,
    next_check_at,
)
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Entry, Organization
from social_map.domain.residents import Resident, ResponseScores
from social_map.domain.sweeps import SweepReport
from social_map.domain.tasks import CorrectionTask
from social_map.domain.taxonomy import Taxonomy, default_taxonomy
from social_map.domain.tenant_view import TenantView
from social_map.domain.text_analysis import Analyzer
from social_map.service.context import ServiceContext
from social_map.settings import Settings
from wijkkracht_common.auth import Principal
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.erasure import person_tombstone, retention_tombstone
from wijkkracht_common.events.identity import ConsentPurpose
from wijkkracht_common.mail import Mail


@dataclass
class FakeEntry:
    stored: StoredEntry
    next_check_at: datetime | None
    tokens_version: str
    search: str
    seq: int


@dataclass
class TenantData:
    """One tenant's 'database'."""

    taxonomy: tuple[Taxonomy, int] | None = None
    taxonomy_announced: int | None = None
    policy: FreshnessPolicy | None = None
    policy_version: int = 0
    feed_generations: dict[str, int] = field(default_factory=dict)
    demo_reference: datetime | None = None
    organisations: dict[str, Organization] = field(default_factory=dict)
    entries: dict[str, FakeEntry] = field(default_factory=dict)
    seq: int = 0
    tasks: dict[str, CorrectionTask] = field(default_factory=dict)
    sweeps: dict[str, SweepReport] = field(default_factory=dict)
    neighbourhoods: dict[str, Neighbourhood] = field(default_factory=dict)
    residents: dict[str, Resident] = field(default_factory=dict)
    consents: dict[str, ConsentState] = field(default_factory=dict)  # the platform's projection
    legacy_consents: list[ConsentState] = field(default_factory=list)  # the former one
    responses: dict[str, ResponseScores] = field(default_factory=dict)
    mails: list[Mail] = field(default_factory=list)
    access_log: list[dict[str, Any]] = field(default_factory=list)
    replays: dict[str, Any] = field(default_factory=dict)  # Idempotency-Key results by id
    erased: set[str] = field(default_factory=set)  # person tombstones

    def keep_consent(self, state: ConsentState) -> None:
        """What `wijkkracht_common.consent.apply_change` does: the newest state wins."""
        key = f"{state.person_id}|{state.organisation}|{state.purpose}"
        held = self.consents.get(key)
        if held is None or state.supersedes(held):
            self.consents[key] = state


class FakeRepository:
    def __init__(self, tenant: str, data: TenantData) -> None:
        self._tenant = tenant
        self.data = data

    @property
    def name(self) -> str:
        return f"fake_{self._tenant}"

    # tenant configuration
    async def load_taxonomy(self) -> tuple[Taxonomy, int]:
        return self.data.taxonomy or (default_taxonomy(), 0)

    async def save_taxonomy(self, taxonomy: Taxonomy, version: int) -> None:
        self.data.taxonomy = (taxonomy, version)

    async def taxonomy_announced(self) -> int | None:
        return self.data.taxonomy_announced

    async def save_taxonomy_announced(self, version: int) -> None:
        self.data.taxonomy_announced = version

    async def load_policy(self) -> tuple[FreshnessPolicy, int]:
        return self.data.policy or FreshnessPolicy(), self.data.policy_version

    async def policy_version(self) -> int:
        return self.data.policy_version

    async def save_policy(self, policy: FreshnessPolicy) -> int:
        self.data.policy = policy
        self.data.policy_version += 1
        return self.data.policy_version

    async def feed_generation(self, code: str) -> int:
        return self.data.feed_generations.get(code, 0)

    async def next_feed_generation(self, code: str) -> int:
        self.data.feed_generations[code] = self.data.feed_generations.get(code, 0) + 1
        return self.data.feed_generations[code]

    async def demo_reference(self) -> datetime | None:
        return self.data.demo_reference

    async def save_demo_reference(self, reference: datetime) -> None:
        self.data.demo_reference = reference

    # owner records
    async def get_organisation(self, org_id: str) -> Organization | None:
        return self.data.organisations.get(org_id)

    async def organisations(self, ids: Iterable[str] | None = None) -> dict[str, Organization]:
        orgs = self.data.organisations
        return dict(orgs) if ids is None else {i: orgs[i] for i in ids if i in orgs}

    async def save_organisation(self, org: Organization) -> None:
        self.data.organisations[org.id] = org

    # entries
    def _bump(self) -> int:
        self.data.seq += 1
        return self.data.seq

    def _put(
        self,
        entry: Entry,
        owner_slug: str | None,
        version: int,
        view: TenantView,
        now: datetime,
        freshness: FreshnessState | None,
        seq: int,
    ) -> StoredEntry:
        state = freshness or freshness_state(
            entry.assured_at, open_reporters(entry), view.policy, now
        )
        stored = StoredEntry(entry, owner_slug, state, version)
        self.data.entries[entry.id] = FakeEntry(
            stored,
            next_check_at(entry, view.policy, now),
            view.analyzer.version,
            search_json(entry, view.analyzer, view.taxonomy),
            seq,
        )
        return stored

    async def get_entry(self, entry_id: str) -> StoredEntry | None:
        found = self.data.entries.get(entry_id)
        return None if found is None else found.stored

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
        return self._put(entry, owner_slug, version, view, now, freshness, self._bump())

    async def set_freshness(
        self,
        entry: Entry,
        state: FreshnessState,
        *,
        version: int,
        policy: FreshnessPolicy,
        now: datetime,
    ) -> None:
        item = self.data.entries[entry.id]
        item.stored = StoredEntry(item.stored.entry, item.stored.owner_slug, state, version)
        item.next_check_at = next_check_at(entry, policy, now)
        item.seq = self._bump()

    async def due_for_check(self, now: datetime, limit: int = 500) -> list[str]:
        due = [
            i
            for i, e in self.data.entries.items()
            if e.next_check_at is not None and e.next_check_at <= now
        ]
        return due[:limit]

    async def recheck_all_entries(self, at: datetime) -> None:
        self._bump()
        for item in self.data.entries.values():
            item.next_check_at = at

    async def used_category_codes(self) -> set[str]:
        return {c for e in self.data.entries.values() for c in e.stored.entry.category_codes}

    async def retokenise_entries(self, analyzer: Analyzer, taxonomy: Taxonomy) -> None:
        seq = self._bump()
        for item in self.data.entries.values():
            s = item.stored
            item.stored = StoredEntry(s.entry, s.owner_slug, s.freshness, s.version + 1)
            item.tokens_version = analyzer.version
            item.search = search_json(s.entry, analyzer, taxonomy)
            item.seq = seq

    async def entry_summaries(self, owner_slugs: Sequence[str] | None) -> list[EntrySummary]:
        return [
            EntrySummary(
                e.stored.entry.id,
                e.stored.entry.organization_id,
                e.stored.entry.name,
                e.stored.entry.assured_at,
                open_reporters(e.stored.entry),
            )
            for e in self.data.entries.values()
            if owner_slugs is None or e.stored.owner_slug in owner_slugs
        ]

    async def entries_in_pc4s(self, pc4s: Iterable[str]) -> list[StoredEntry]:
        wanted = set(pc4s)
        return [
            e.stored
            for e in self.data.entries.values()
            if any(loc.address and loc.address.pc4 in wanted for loc in e.stored.entry.locations)
        ]

    async def all_entries(self) -> list[StoredEntry]:
        return [self.data.entries[i].stored for i in sorted(self.data.entries)]

    async def entries_by_ids(self, ids: Sequence[str]) -> list[StoredEntry]:
        return [self.data.entries[i].stored for i in ids if i in self.data.entries]

    async def shown_entry_versions(self, categories: Iterable[str]) -> dict[str, int]:
        wanted = set(categories)
        return {
            i: e.stored.version
            for i, e in self.data.entries.items()
            if wanted.intersection(e.stored.entry.category_codes)
            and e.stored.freshness is not FreshnessState.HIDDEN
        }

    async def existing_entries(self, ids: Sequence[str]) -> dict[str, ExistingEntry]:
        entries = self.data.entries
        return {
            i: ExistingEntry(entries[i].stored.version, entries[i].stored.entry)
            for i in ids
            if i in entries
        }

    async def write_imported(
        self,
        entries: Sequence[ImportedEntry],
        *,
        replaced: Sequence[str],
        view: TenantView,
        now: datetime,
    ) -> None:
        seq = self._bump()
        for item in entries:
            self._put(item.entry, item.owner_slug, item.version, view, now, None, seq)

    async def current_seq(self) -> tuple[str | None, int]:
        return "fake", self.data.seq

    async def search_rows(self, after_seq: int | None) -> list[SearchRow]:
        return [
            SearchRow(
                {
                    "_id": i,
                    "v": e.stored.version,
                    "hidden": e.stored.freshness is FreshnessState.HIDDEN,
                    "tokens_version": e.tokens_version,
                    "search": e.search,
                }
            )
            for i, e in self.data.entries.items()
            if after_seq is None or e.seq > after_seq
        ]

    # correction tasks
    async def add_task(self, task: CorrectionTask) -> None:
        self.data.tasks[task.id] = task

    async def close_tasks(self, entry_id: str, at: datetime) -> None:
        for key, task in self.data.tasks.items():
            if task.entry_id == entry_id and task.status == "open":
                self.data.tasks[key] = replace(task, status="done", closed_at=at)

    async def tasks(
        self, owner_slugs: Sequence[str] | None, status: str | None
    ) -> list[CorrectionTask]:
        found = [
            t
            for t in self.data.tasks.values()
            if (owner_slugs is None or t.owner_slug in owner_slugs)
            and (not status or t.status == status)
        ]
        return sorted(found, key=lambda t: t.created_at)[:500]

    async def entries_reported_by(self, person_id: str) -> set[str]:
        return {t.entry_id for t in self.data.tasks.values() if t.reporter == person_id}

    async def reports_by(self, person_id: str) -> list[CorrectionTask]:
        mine = [t for t in self.data.tasks.values() if t.reporter == person_id]
        return sorted(mine, key=lambda t: t.created_at)

    async def rename_reporter(self, person_id: str, replacement: str) -> int:
        mine = [k for k, t in self.data.tasks.items() if t.reporter == person_id]
        for key in mine:
            self.data.tasks[key] = replace(self.data.tasks[key], reporter=replacement)
        return len(mine)

    async def entries_assured_by(self, person_id: str) -> list[StoredEntry]:
        return [
            e.stored for e in self.data.entries.values() if e.stored.entry.assured_by == person_id
        ]

    # freshness sweeps run on request
    async def save_sweep(self, report: SweepReport) -> None:
        self.data.sweeps[report.id] = report

    async def sweep_report(self, sweep_id: str) -> SweepReport | None:
        return self.data.sweeps.get(sweep_id)

    async def rename_sweep_actor(self, person_id: str, replacement: str) -> int:
        mine = [k for k, s in self.data.sweeps.items() if s.actor == person_id]
        for key in mine:
            self.data.sweeps[key] = replace(self.data.sweeps[key], actor=replacement)
        return len(mine)

    # neighbourhoods
    async def replace_neighbourhoods(self, table: Sequence[Neighbourhood]) -> None:
        self.data.neighbourhoods = {n.code: n for n in table}

    async def neighbourhoods(self) -> list[Neighbourhood]:
        return sorted(self.data.neighbourhoods.values(), key=lambda n: n.code)

    async def neighbourhood(self, code: str) -> Neighbourhood | None:
        return self.data.neighbourhoods.get(code)

    async def neighbourhood_of_pc4(self, pc4: str) -> Neighbourhood | None:
        return next((n for n in self.data.neighbourhoods.values() if pc4 in n.pc4), None)

    # residents, consents, responses
    async def save_resident(self, resident: Resident) -> None:
        self.data.residents[resident.person_id] = resident

    async def resident(self, person_id: str) -> Resident | None:
        return self.data.residents.get(person_id)

    async def has_consent(self, person_id: str, organisation: str, purpose: ConsentPurpose) -> bool:
        held = self.data.consents.get(f"{person_id}|{organisation}|{purpose}")
        return held is not None and held.granted

    async def consents_of(self, person_id: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for c in self.data.consents.values():
            if c.person_id == person_id and c.granted:
                found.setdefault(c.purpose, []).append(c.organisation)
        return {purpose: sorted(orgs) for purpose, orgs in sorted(found.items())}

    async def adopt_legacy_consents(self, tenant: str) -> int:
        adopted = 0
        for state in self.data.legacy_consents:
            if person_tombstone(tenant, state.person_id) not in self.data.erased:
                self.data.keep_consent(state)
                adopted += 1
        self.data.legacy_consents = []
        return adopted

    async def save_response(self, response: ResponseScores) -> None:
        self.data.responses[response.response_id] = response

    async def response(self, response_id: str) -> ResponseScores | None:
        return self.data.responses.get(response_id)

    async def responses_of(self, person_id: str) -> list[ResponseScores]:
        mine = [r for r in self.data.responses.values() if r.person_id == person_id]
        return sorted(mine, key=lambda r: r.response_id)

    async def erase_resident_data(self, person_id: str) -> dict[str, int]:
        data = self.data
        counts = {"residents": int(data.residents.pop(person_id, None) is not None)}
        mine = [k for k, r in data.responses.items() if r.person_id == person_id]
        counts["responses"] = len([data.responses.pop(k) for k in mine])
        mine = [k for k, c in data.consents.items() if c.person_id == person_id]
        counts["consents"] = len([data.consents.pop(k) for k in mine])
        legacy = [c for c in data.legacy_consents if c.person_id != person_id]
        counts["consents"] += len(data.legacy_consents) - len(legacy)
        data.legacy_consents = legacy
        return counts

    # the erasure's platform parts
    async def forget_requests(self, person_id: str) -> int:
        mine = [k for k in self.data.replays if k.startswith(f"{person_id}:")]
        for key in mine:
            del self.data.replays[key]
        return len(mine)

    async def anonymise_access_log(self, person_id: str) -> int:
        tombstone = retention_tombstone()
        mine = [r for r in self.data.access_log if r["resident"] == person_id]
        for record in mine:
            kind = str(record["resource"]).split("/", 1)[0]
            record.update(resident=tombstone, resource=f"{kind}/erased")
        return len(mine)

    async def remember_erased(self, tenant: str, person_id: str) -> None:
        self.data.erased.add(person_tombstone(tenant, person_id))

    # shared tables
    async def stage_mail(self, message: Mail) -> None:
        self.data.mails.append(message)

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
        self.data.access_log.append(
            {
                "actor": principal.subject,
                "resident": resident,
                "resource": resource,
                "on_behalf_of": on_behalf_of,
            }
        )


class FakeStorage:
    def __init__(self, runtime: FakeRuntime) -> None:
        self._runtime = runtime

    async def tenant_db(self, tenant: str) -> str:
        return tenant  # the repository factory finds the tenant's data by it

    def database_name(self, tenant: str) -> str:
        return f"fake_{tenant}"

    async def tenants(self, max_age_seconds: float = 5.0) -> list[str]:
        return sorted(self._runtime.tenants)


class FakeRuntime:
    """`commit` runs the work on the tenant's data: all of it or, when it fails, none."""

    def __init__(self) -> None:
        self.tenants: dict[str, TenantData] = {}
        self.staged: dict[str, list[Any]] = {}
        self.storage = FakeStorage(self)

    def data(self, tenant: str) -> TenantData:
        return self.tenants.setdefault(tenant, TenantData())

    def events(self, tenant: str) -> list[str]:
        """Names of the events staged for the tenant, in order."""
        return [e.type.split(".")[3] for e in self.staged.get(tenant, [])]

    async def commit(
        self,
        tenant: str,
        work: Callable[[Any, Any], Awaitable[tuple[Any, Sequence[Any]]]],
        *,
        batch_events: bool = False,
    ) -> Any:
        data = self.data(tenant)
        before = copy.deepcopy(data)
        try:
            result, events = await work(tenant, None)
        except BaseException:
            data.__dict__.update(before.__dict__)
            raise
        self.staged.setdefault(tenant, []).extend(events)
        return result


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2025, 3, 3, 12, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


def fake_context(clock: FakeClock) -> tuple[ServiceContext, FakeRuntime]:
    runtime = FakeRuntime()
    settings = Settings(
        env="test",
        verification_secret="x" * 40,  # type: ignore[arg-type]
        public_base_url="http://t/social-map/v1",
    )
    ctx = ServiceContext(
        runtime,  # type: ignore[arg-type]
        settings,
        clock,
        repositories=lambda db, _session: FakeRepository(db, runtime.data(db)),  # type: ignore[arg-type]
    )
    return ctx, runtime


# --- builders --------------------------------------------------------------------------------

WALK = {
    "kind": "activity",
    "organization_id": "org-a",
    "name": "Wandelgroep Oeverhoek",
    "description": "Samen een uur wandelen door het park, daarna koffie.",
    "category_codes": ["wandelen"],
    "service_at_locations": [
        {
            "id": "sal-1",
            "location": {
                "id": "loc-1",
                "name": "Parkpaviljoen",
                "latitude": 52.4620,
                "longitude": 4.8120,
                "address": {
                    "address_1": "Lindelaan 12",
                    "city": "Demodorp",
                    "postal_code": "9903 AB",
                },
            },
        }
    ],
    "email": "wandel@org-a.example",
}


def person(subject: str, tenant: str = "t1", **orgs: list[str]) -> Principal:
    memberships = {org.replace("_", "-"): frozenset(roles) for org, roles in orgs.items()}
    roles = frozenset().union(*memberships.values()) if memberships else frozenset()
    return Principal(subject=subject, tenant=tenant, roles=roles, orgs=memberships)


ADMIN = person("p-admin", org_a=["org_admin"])
RESIDENT = person("p-res", org_a=["resident"])
