"""JSON shapes of the HTTP API (what leaves the service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from social_map.adapters.documents import StoredEntry
from social_map.domain.freshness import (
    FreshnessPolicy,
    FreshnessState,
    OrganisationFreshness,
    state,
)
from social_map.domain.model import Entry
from social_map.domain.ranking import SearchHit
from social_map.domain.recommendations import Recommendation
from social_map.domain.tasks import CorrectionTask

STALE_WARNING = (
    "Deze informatie is al lang niet gecontroleerd; bel voor de zekerheid even. / This "
    "information has not been checked for a long time; please call to make sure."
)


def public_entry(entry: Entry) -> dict[str, Any]:
    """Reports (notes, reporters) and the assurer stay with the owner."""
    return entry.model_dump(mode="json", exclude={"outdated_reports", "assured_by", "tenant"})


def entry_view(
    stored: StoredEntry, *, policy: FreshnessPolicy, now: datetime, manager: bool
) -> dict[str, Any]:
    current = state(stored.entry, policy, now)
    body: dict[str, Any] = {
        "entry": public_entry(stored.entry),
        "freshness": current.value,
        "stale_warning": STALE_WARNING if current is FreshnessState.STALE else None,
        "can_manage": manager,
    }
    if manager:
        body["owner_organisation"] = stored.owner_slug
        body["assured_by"] = stored.entry.assured_by
        body["open_reports"] = [
            {"id": r.id, "note": r.note, "reported_at": r.reported_at.isoformat()}
            for r in stored.entry.open_reports
        ]
    return body


def hit_view(hit: SearchHit) -> dict[str, Any]:
    return {
        "entry": public_entry(hit.entry),
        "score": hit.score,
        "text_score": hit.text_score,
        "distance_km": None if hit.distance_km is None else round(hit.distance_km, 3),
        "location_id": hit.location_id,
        "freshness": hit.freshness.value,
        "stale_warning": STALE_WARNING if hit.stale_warning else None,
    }


def recommendation_view(rec: Recommendation) -> dict[str, Any]:
    return {
        "entry": public_entry(rec.entry),
        "score": rec.score,
        "dimensions": [d.value for d in rec.dimensions],
        "distance_km": None if rec.distance_km is None else round(rec.distance_km, 3),
        "stale_warning": STALE_WARNING if rec.stale_warning else None,
        "reason": {"nl": rec.reason_nl, "en": rec.reason_en},
    }


def overview_view(item: OrganisationFreshness) -> dict[str, Any]:
    return {
        "organization_id": item.organization_id,
        "total": item.total,
        "counts": {k.value: v for k, v in item.counts.items()},
        "oldest": [
            {
                "id": s.id,
                "name": s.name,
                "assured_at": s.assured_at.isoformat() if s.assured_at else None,
                "open_reporters": s.open_reporters,
            }
            for s in item.oldest
        ],
    }


def task_view(task: CorrectionTask) -> dict[str, Any]:
    """The reporter's id stays internal (anti-abuse); the owner sees the note."""
    body: dict[str, Any] = {
        "id": task.id,
        "entry_id": task.entry_id,
        "entry_name": task.entry_name,
        "organization_id": task.organization_id,
        "owner_slug": task.owner_slug,
        "kind": task.kind,
        "note": task.note,
        "status": task.status,
        "created_at": task.created_at.isoformat(),
    }
    if task.closed_at is not None:
        body["closed_at"] = task.closed_at.isoformat()
    return body
