"""Domain objects ↔ database documents (used by `repositories` only).

One `entries` document per entry: the HSDS-aligned model as a JSON string under `entry`,
the fields queries and the sweep need, and under `search` (also a JSON string) the search
projection (`domain.search_projection.project`) from which the service's in-memory search
index is built without parsing entry bodies. Every write bumps `v` and stamps `seq` (the
tenant's change counter, see `repositories.MongoRepository.bump_seq`), so a search index
catches up by reading only the documents with a higher `seq`. Parsed entries are cached by
(tenant, id, v).

Stored date-times and booleans are read through `wijkkracht_common.storage`'s engine-neutral
readers (`stored_datetime`, `stored_bool`): the service layer only sees domain objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from wijkkracht_common.consent import ConsentState
from wijkkracht_common.storage import stored_bool, stored_datetime

from social_map.domain.freshness import (
    EntrySummary,
    FreshnessPolicy,
    FreshnessState,
    freshness_state,
    next_check_at,
)
from social_map.domain.model import Entry
from social_map.domain.residents import Resident, ResponseScores
from social_map.domain.schedule_rules import STORED
from social_map.domain.search_projection import (
    PROJECTION_VERSION,
    SearchProjection,
    epoch_us,
    project,
)
from social_map.domain.sweeps import SweepReport
from social_map.domain.tasks import CorrectionTask
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer

ENTRIES = "entries"
#: No longer written (the search index lives in the service); kept for old databases.
POINTS = "search_points"


@dataclass(frozen=True, slots=True)
class StoredEntry:
    entry: Entry
    owner_slug: str | None
    freshness: FreshnessState  # the state last announced (by events)
    version: int


class ExistingEntry(NamedTuple):
    """What an import compares a new entry with."""

    version: int
    entry: Entry


class ImportedEntry(NamedTuple):
    """An entry an import writes (new, or replacing an existing one at `version`)."""

    entry: Entry
    owner_slug: str | None
    version: int


def pc4s_of(entry: Entry) -> list[str]:
    return sorted({loc.address.pc4 for loc in entry.locations if loc.address and loc.address.pc4})


def open_reporters(entry: Entry) -> int:
    return len({r.reporter for r in entry.open_reports})


def entry_document(
    entry: Entry,
    *,
    owner_slug: str | None,
    policy: FreshnessPolicy,
    now: datetime,
    version: int,
    freshness: FreshnessState | None = None,
    analyzer: Analyzer,
    taxonomy: Taxonomy,
) -> dict[str, Any]:
    """`freshness` is the state as last announced (by events); None = compute it now."""
    state = freshness or freshness_state(entry.assured_at, open_reporters(entry), policy, now)
    return {
        "_id": entry.id,
        "v": version,
        "organization_id": entry.organization_id,
        "owner_slug": owner_slug,
        "kind": entry.kind.value,
        "status": entry.status.value,
        "name": entry.name,  # top level: nested fields cannot be projected on every engine
        "category_codes": list(entry.category_codes),
        "pc4s": pc4s_of(entry),
        "assured_at": entry.assured_at,
        "open_reporters": open_reporters(entry),
        "freshness": state.value,
        "hidden": state is FreshnessState.HIDDEN,
        "next_check_at": next_check_at(entry, policy, now),
        "tokens_version": analyzer.version,
        "search": search_json(entry, analyzer, taxonomy),
        # a JSON string, not a nested document: stored ~3.5x faster on the embedded
        # server, and the body is never queried (queries use the top-level fields above)
        "entry": entry.model_dump_json(),
    }


def search_json(entry: Entry, analyzer: Analyzer, taxonomy: Taxonomy) -> str:
    return json.dumps(project(entry, analyzer, taxonomy), separators=(",", ":"))


def freshness_fields(
    entry: Entry, state: FreshnessState, policy: FreshnessPolicy, now: datetime, version: int
) -> dict[str, Any]:
    """The fields a freshness transition (or a sweep that found none) rewrites."""
    return {
        "freshness": state.value,
        "hidden": state is FreshnessState.HIDDEN,
        "next_check_at": next_check_at(entry, policy, now),
        "open_reporters": open_reporters(entry),
        "v": version,
    }


def parse_entry(raw: str | dict[str, Any]) -> Entry:
    context = {STORED: True}  # what an earlier version stored is repaired, not refused
    if isinstance(raw, str):
        return Entry.model_validate_json(raw, context=context)
    return Entry.model_validate(raw, context=context)


def stored_entry(doc: dict[str, Any]) -> StoredEntry:
    return StoredEntry(
        entry=parse_entry(doc["entry"]),
        owner_slug=doc.get("owner_slug"),
        freshness=FreshnessState(doc.get("freshness", FreshnessState.FRESH.value)),
        version=int(doc.get("v", 0)),
    )


def entry_summary(doc: dict[str, Any]) -> EntrySummary:
    return EntrySummary(
        doc["_id"],
        doc["organization_id"],
        doc["name"],
        stored_datetime(doc.get("assured_at")),
        int(doc.get("open_reporters") or 0),
    )


# --- the search index's feed -----------------------------------------------------------------


class SearchRow:
    """An entry document without its body, as the search index reads it."""

    __slots__ = ("hidden", "id", "search", "tokens_version", "version")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.id: str = doc["_id"]
        self.version = int(doc.get("v", 0))
        self.hidden = bool(doc.get("hidden"))
        self.tokens_version: str | None = doc.get("tokens_version")
        self.search: str | None = doc.get("search")

    def projection(self, analyzer_version: str) -> SearchProjection | None:
        """The stored projection, or None when it must be projected from the body again
        (written before projections existed, or under another analyzer version)."""
        if self.search is None or self.tokens_version != analyzer_version:
            return None
        data = json.loads(self.search)
        if data.get("pv") != PROJECTION_VERSION:
            return None
        if isinstance(data.get("assured"), str):  # written before it became µs since the epoch
            assured = stored_datetime(data["assured"])
            data["assured"] = None if assured is None else epoch_us(assured)
        return SearchProjection.from_json(self.id, self.version, self.hidden, data)


# --- tasks -----------------------------------------------------------------------------------


def task_document(task: CorrectionTask) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": task.id,
        "entry_id": task.entry_id,
        "entry_name": task.entry_name,
        "organization_id": task.organization_id,
        "owner_slug": task.owner_slug,
        "kind": task.kind,
        "note": task.note,
        "reporter": task.reporter,
        "status": task.status,
        "created_at": task.created_at,
    }
    if task.closed_at is not None:
        doc["closed_at"] = task.closed_at
    return doc


def task_of(doc: dict[str, Any]) -> CorrectionTask:
    created = stored_datetime(doc["created_at"])
    assert created is not None
    return CorrectionTask(
        id=doc["_id"],
        entry_id=doc["entry_id"],
        entry_name=doc.get("entry_name", ""),
        organization_id=doc.get("organization_id", ""),
        owner_slug=doc.get("owner_slug"),
        note=doc.get("note", ""),
        reporter=doc.get("reporter", ""),
        created_at=created,
        status=doc.get("status", "open"),
        closed_at=stored_datetime(doc.get("closed_at")),
        kind=doc.get("kind", "correction"),
    )


# --- residents, legacy consents, responses (projections) ---------------------------------


def resident_fields(resident: Resident) -> dict[str, Any]:
    return {
        "pc4": resident.pc4,
        "neighbourhood_code": resident.neighbourhood_code,
        "age_band": resident.age_band,
        "at": resident.at,
    }


def resident_of(doc: dict[str, Any]) -> Resident:
    return Resident(
        person_id=str(doc["_id"]),
        pc4=doc.get("pc4"),
        neighbourhood_code=doc.get("neighbourhood_code"),
        age_band=doc.get("age_band"),
        at=stored_datetime(doc.get("at")),
    )


def legacy_consent_state(doc: dict[str, Any]) -> ConsentState:
    """A consent kept by the social map's own projection before the platform's one
    (`consents`: person, organisation, purpose, active, at): the platform's state for it,
    version 0 (ordered by its time, so any newer event supersedes it)."""
    return ConsentState(
        person_id=str(doc["person_id"]),
        organisation=str(doc["organisation"]),
        purpose=str(doc["purpose"]),
        granted=stored_bool(doc.get("active")),
        version=0,
        at=stored_datetime(doc.get("at")) or datetime(1970, 1, 1, tzinfo=UTC),
    )


def response_document(response: ResponseScores) -> dict[str, Any]:
    return {
        "_id": response.response_id,
        "person_id": response.person_id,
        "scores": response.scores,
        "family": response.family,
        "submitted_at": response.submitted_at,
    }


def response_of(doc: dict[str, Any]) -> ResponseScores:
    return ResponseScores(
        response_id=str(doc["_id"]),
        person_id=str(doc["person_id"]),
        scores={k: float(v) for k, v in doc["scores"].items()},
        family=str(doc.get("family", "")),
        submitted_at=stored_datetime(doc.get("submitted_at")),
    )


# --- freshness sweeps run on request ---------------------------------------------------------


def sweep_document(report: SweepReport) -> dict[str, Any]:
    return {
        "_id": report.id,
        "tenant": report.tenant,
        "actor": report.actor,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "policy_version": report.policy_version,
        "checked": report.checked,
        "changed": report.changed,
    }


def sweep_of(doc: dict[str, Any]) -> SweepReport:
    started, finished = stored_datetime(doc["started_at"]), stored_datetime(doc["finished_at"])
    assert started is not None and finished is not None
    return SweepReport(
        id=str(doc["_id"]),
        tenant=str(doc["tenant"]),
        actor=str(doc["actor"]),
        started_at=started,
        finished_at=finished,
        policy_version=int(doc["policy_version"]),
        checked=int(doc["checked"]),
        changed=int(doc["changed"]),
    )
