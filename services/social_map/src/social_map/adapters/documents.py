"""Entry ↔ database documents.

One `entries` document per entry (the HSDS-aligned model as JSON under `entry`, plus the
fields queries and the sweep need) and one `search_points` document per location: the
indexed bounding box + own token index of the search design (no `$text`, no `$near`, so it
runs on MongoDB and nx-27017 alike). Every write bumps `v`; the search keeps parsed entries
in a cache keyed by (tenant, id, v), so a change is never served stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from social_map.domain.freshness import (
    FreshnessPolicy,
    FreshnessState,
    freshness_state,
    next_check_at,
)
from social_map.domain.model import Entry, LocationType
from social_map.domain.ranking import index_tokens
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer

ENTRIES = "entries"
POINTS = "search_points"


@dataclass(frozen=True, slots=True)
class StoredEntry:
    entry: Entry
    owner_slug: str | None
    freshness: FreshnessState
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
    tokens_version: str,
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
        "name": entry.name,  # top level: nx-27017 ignores dotted projections
        "category_codes": list(entry.category_codes),
        "pc4s": pc4s_of(entry),
        "assured_at": entry.assured_at,
        "open_reporters": open_reporters(entry),
        "freshness": state.value,
        "hidden": state is FreshnessState.HIDDEN,
        "next_check_at": next_check_at(entry, policy, now),
        "tokens_version": tokens_version,
        # a JSON string, not a nested document: nx-27017 stores it ~3.5x faster, and the
        # body is never queried (queries use the top-level fields above)
        "entry": entry.model_dump_json(),
    }


def point_documents(
    entry: Entry,
    *,
    version: int,
    hidden: bool,
    analyzer: Analyzer,
    taxonomy: Taxonomy,
) -> list[dict[str, Any]]:
    """One search point per physical location; one location-less point for online offers."""
    tokens = index_tokens(entry, analyzer, taxonomy)
    base = {
        "entry_id": entry.id,
        "v": version,
        "tokens": tokens,
        "category_codes": list(entry.category_codes),
        "hidden": hidden,
        "kind": entry.kind.value,
    }
    points = [
        {**base, "_id": f"{entry.id}|{loc.id}", "lat": loc.latitude, "lon": loc.longitude,
         "online": False}
        for loc in entry.locations
        if loc.latitude is not None and loc.longitude is not None
    ]  # fmt: skip
    if not points or any(loc.location_type is LocationType.VIRTUAL for loc in entry.locations):
        points.append({**base, "_id": f"{entry.id}|online", "lat": None, "lon": None,
                       "online": True})  # fmt: skip
    return points


def stored_entry(doc: dict[str, Any]) -> StoredEntry:
    return StoredEntry(
        entry=(Entry.model_validate_json(doc["entry"]) if isinstance(doc["entry"], str)
               else Entry.model_validate(doc["entry"])),
        owner_slug=doc.get("owner_slug"),
        freshness=FreshnessState(doc.get("freshness", FreshnessState.FRESH.value)),
        version=int(doc.get("v", 0)),
    )
