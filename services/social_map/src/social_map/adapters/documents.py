"""Entry ↔ database documents.

One `entries` document per entry: the HSDS-aligned model as a JSON string under `entry`,
the fields queries and the sweep need, and under `search` (also a JSON string) the search
projection (`domain.search_index.project`) from which the service's in-memory search index
is built without parsing entry bodies. Every write bumps `v` and stamps `seq` (the tenant's
change counter, see `repositories.bump_seq`), so a search index catches up by reading only
the documents with a higher `seq`. Parsed entries are cached by (tenant, id, v).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from social_map.domain.freshness import (
    FreshnessPolicy,
    FreshnessState,
    freshness_state,
    next_check_at,
)
from social_map.domain.model import Entry
from social_map.domain.search_projection import project
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer

ENTRIES = "entries"
#: No longer written (the search index lives in the service); kept for old databases.
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
        "name": entry.name,  # top level: nx-27017 ignores dotted projections
        "category_codes": list(entry.category_codes),
        "pc4s": pc4s_of(entry),
        "assured_at": entry.assured_at,
        "open_reporters": open_reporters(entry),
        "freshness": state.value,
        "hidden": state is FreshnessState.HIDDEN,
        "next_check_at": next_check_at(entry, policy, now),
        "tokens_version": analyzer.version,
        "search": json.dumps(project(entry, analyzer, taxonomy), separators=(",", ":")),
        # a JSON string, not a nested document: nx-27017 stores it ~3.5x faster, and the
        # body is never queried (queries use the top-level fields above)
        "entry": entry.model_dump_json(),
    }


def stored_entry(doc: dict[str, Any]) -> StoredEntry:
    return StoredEntry(
        entry=(
            Entry.model_validate_json(doc["entry"])
            if isinstance(doc["entry"], str)
            else Entry.model_validate(doc["entry"])
        ),
        owner_slug=doc.get("owner_slug"),
        freshness=FreshnessState(doc.get("freshness", FreshnessState.FRESH.value)),
        version=int(doc.get("v", 0)),
    )
