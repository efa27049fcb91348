"""Access logging of residents' personal data (NEN 7513; architecture §5).

Every read or change of a resident's data by someone else is recorded with who, on whose
behalf, which resident, what, when, why and the trace id. The record is stored in the
service's tenant database and, through the outbox, sent as `access.recorded` so identity can
show the resident one complete log (`GET /identity/v1/me/access-log`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from wijkkracht_common.auth import Principal
from wijkkracht_common.erasure import retention_tombstone
from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.events.envelope import new_event, new_event_id
from wijkkracht_common.outbox import stage
from wijkkracht_common.storage import ASCENDING, Database, IndexModel, IndexSpec, Session

ACCESS_LOG = "access_log"
ACCESS_LOG_INDEXES = IndexSpec(
    ACCESS_LOG, (IndexModel([("resident", ASCENDING), ("at", ASCENDING)]),)
)


def _trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


async def record_access(
    db: Database[dict[str, Any]],
    *,
    service: str,
    principal: Principal,
    resident: str,
    action: str,
    resource: str,
    reason: str,
    on_behalf_of: str | None = None,
    session: Session | None = None,
) -> None:
    """Log one access. `action`: read|create|update|delete|export; `reason`: why (purpose)."""
    await record_accesses(
        db,
        service=service,
        principal=principal,
        residents=[resident],
        action=action,
        resource=resource,
        reason=reason,
        on_behalf_of=on_behalf_of,
        session=session,
    )


async def record_accesses(
    db: Database[dict[str, Any]],
    *,
    service: str,
    principal: Principal,
    residents: Sequence[str],
    action: str,
    resource: str,
    reason: str,
    on_behalf_of: str | None = None,
    session: Session | None = None,
) -> None:
    """Log one access to each of `residents` (a list shown to a professional): one insert of
    the records and one of their events, instead of two writes per resident."""
    if not residents:
        return
    trace_id = _trace_id()
    at = datetime.now(UTC)
    actor = principal.subject
    await db[ACCESS_LOG].insert_many(
        [
            {
                "_id": new_event_id(),
                "at": at,
                "actor": actor,
                "client_id": principal.client_id,
                "on_behalf_of": on_behalf_of,
                "resident": resident,
                "action": action,
                "resource": resource,
                "reason": reason,
                "trace_id": trace_id,
            }
            for resident in residents
        ],
        session=session,
    )
    events = [
        new_event(
            AccessRecorded(
                service=service,
                actor=actor,
                on_behalf_of=on_behalf_of,
                resident=resident,
                action=action,
                resource=resource,
                reason=reason,
                trace_id=trace_id,
            ),
            tenant=principal.tenant,
            subject=resident,
            actor=actor,
            time=at,
        )
        for resident in residents
    ]
    await stage(db, events, session=session)


async def anonymise_resident(
    db: Database[dict[str, Any]], person_id: str, *, session: Session | None
) -> int:
    """Erasure: the log keeps its legal retention (who looked, when, why) but no longer links to
    the person: `resident` becomes a random tombstone and the resource loses its id
    (`response/<id>` -> `response/erased`); records where the person was the one looking (a
    resident's own export, a staff member's reads) get the same tombstone as `actor`. Returns
    how many records were rewritten."""
    tombstone = retention_tombstone()
    docs = await db[ACCESS_LOG].find({"resident": person_id}, session=session).to_list(None)
    for doc in docs:
        kind = str(doc.get("resource", "")).split("/", 1)[0] or "resource"
        await db[ACCESS_LOG].replace_one(
            {"_id": doc["_id"]},
            {**doc, "resident": tombstone, "resource": f"{kind}/erased"},
            session=session,
        )
    return len(docs) + await anonymise_actor(db, person_id, session=session, tombstone=tombstone)


async def anonymise_actor(
    db: Database[dict[str, Any]],
    person_id: str,
    *,
    session: Session | None,
    tombstone: str | None = None,
) -> int:
    """The records of what the person looked at keep their retention, but the viewer becomes
    a random tombstone (their organisation, `on_behalf_of`, stays)."""
    tombstone = tombstone or retention_tombstone()
    result = await db[ACCESS_LOG].update_many(
        {"actor": person_id}, {"$set": {"actor": tombstone}}, session=session
    )
    return int(result.modified_count)
