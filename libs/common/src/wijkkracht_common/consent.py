"""The consent projection every service keeps the same way (architecture §9).

Identity owns consent and publishes `consent_granted` / `consent_revoked` with the consent's
own `version` (its ledger position for that person, organisation and purpose). Each service
keeps one document per (person, organisation, purpose) in `consent_states`, and applies a
change only when it is newer than what it holds — by version, then by event time for events
without one (version 0) — so a late or repeated event never undoes a newer state.

Use it like this, nothing else:
- consumers: `register_consent_projection(runtime, consumer_service=...)` in the service's
  `entrypoints/consumers.py` (it subscribes both events and applies them with
  `messaging.apply_once`, dropping events about erased persons);
- decisions: `await consent_given(db, person, organisation, purpose)`,
  `await organisations_with_consent(db, person, purpose)`,
  `await persons_with_consent(db, organisation, purpose)` from the service's repositories;
- erasure: `await forget_person(db, person, session=session)` in the service's erasure effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import ConsentGranted, ConsentPurpose, ConsentRevoked
from wijkkracht_common.messaging import Committer, Delivery, apply_once, subscribe
from wijkkracht_common.observability import ServiceMetrics
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import (
    ASCENDING,
    Database,
    IndexModel,
    IndexSpec,
    Session,
    stored_bool,
    stored_datetime,
)

CONSENT_STATES = "consent_states"

#: Declare in the service's INDEXES (ServiceRuntime adds it for every service).
CONSENT_INDEXES = IndexSpec(
    CONSENT_STATES,
    (
        IndexModel([("person_id", ASCENDING)]),
        IndexModel([("organisation", ASCENDING), ("purpose", ASCENDING)]),
    ),
)

ConsentChange = ConsentGranted | ConsentRevoked


@dataclass(frozen=True)
class ConsentState:
    person_id: str
    organisation: str
    purpose: str
    granted: bool
    version: int
    at: datetime

    def supersedes(self, other: ConsentState) -> bool:
        """Newer than `other`: a higher version, or the same version and a later time."""
        return (self.version, self.at) > (other.version, other.at)


def _key(person_id: str, organisation: str, purpose: str) -> str:
    return f"{person_id}|{organisation}|{purpose}"


def state_of(envelope: Envelope[ConsentGranted] | Envelope[ConsentRevoked]) -> ConsentState:
    data = envelope.data
    return ConsentState(
        person_id=data.person_id,
        organisation=data.organisation_slug,
        purpose=data.purpose,
        granted=isinstance(data, ConsentGranted),
        version=data.version,
        at=envelope.time,
    )


def _from_doc(doc: dict[str, Any]) -> ConsentState:
    at = stored_datetime(doc["at"])
    assert at is not None
    return ConsentState(
        person_id=doc["person_id"],
        organisation=doc["organisation"],
        purpose=doc["purpose"],
        granted=stored_bool(doc["granted"]),
        version=int(doc.get("version", 0)),
        at=at,
    )


async def apply_change(
    db: Database[dict[str, Any]], new: ConsentState, *, session: Session | None
) -> bool:
    """Store `new` unless the projection holds a newer state; True when stored."""
    key = _key(new.person_id, new.organisation, new.purpose)
    doc = await db[CONSENT_STATES].find_one({"_id": key}, session=session)
    if doc is not None and not new.supersedes(_from_doc(doc)):
        return False
    # replace_one (not $set): the stored datetime keeps its type on every engine.
    await db[CONSENT_STATES].replace_one(
        {"_id": key},
        {
            "_id": key,
            "person_id": new.person_id,
            "organisation": new.organisation,
            "purpose": new.purpose,
            "granted": new.granted,
            "version": new.version,
            "at": new.at,
        },
        upsert=True,
        session=session,
    )
    return True


async def consent_state(
    db: Database[dict[str, Any]],
    person_id: str,
    organisation: str,
    purpose: ConsentPurpose,
    *,
    session: Session | None = None,
) -> ConsentState | None:
    """The newest known state (granted or revoked, version, time), if any: for rules that
    compare a consent with another decision's time (e.g. a share chosen on a response)."""
    doc = await db[CONSENT_STATES].find_one(
        {"_id": _key(person_id, organisation, purpose)}, session=session
    )
    return None if doc is None else _from_doc(doc)


async def consent_given(
    db: Database[dict[str, Any]], person_id: str, organisation: str, purpose: ConsentPurpose
) -> bool:
    doc = await db[CONSENT_STATES].find_one({"_id": _key(person_id, organisation, purpose)})
    return doc is not None and stored_bool(doc["granted"])


async def organisations_with_consent(
    db: Database[dict[str, Any]], person_id: str, purpose: ConsentPurpose
) -> list[str]:
    """Organisations the person allows `purpose` now, sorted."""
    docs = db[CONSENT_STATES].find({"person_id": person_id})
    found = [d async for d in docs if d["purpose"] == purpose and stored_bool(d["granted"])]
    return sorted(str(d["organisation"]) for d in found)


async def persons_with_consent(
    db: Database[dict[str, Any]], organisation: str, purpose: ConsentPurpose
) -> list[str]:
    """Persons who allow `organisation` `purpose` now (a professional's caseload), sorted."""
    docs = db[CONSENT_STATES].find({"organisation": organisation, "purpose": purpose})
    return sorted([str(d["person_id"]) async for d in docs if stored_bool(d["granted"])])


async def forget_person(
    db: Database[dict[str, Any]], person_id: str, *, session: Session | None
) -> int:
    """Erasure: the person's consent states go (late consent events are dropped by
    `apply_once`'s erased-person check, so they cannot come back)."""
    result = await db[CONSENT_STATES].delete_many({"person_id": person_id}, session=session)
    return int(result.deleted_count)


def register_consent_projection(
    runtime: Any,
    *,
    consumer_service: str,
    max_deliver: int = 8,
    metrics: ServiceMetrics | None = None,
) -> None:
    """Subscribe the service to identity's consent events (`runtime`: its ServiceRuntime)."""
    committer: Committer = runtime

    async def on_change(
        envelope: Envelope[ConsentGranted] | Envelope[ConsentRevoked], delivery: Delivery
    ) -> bool:
        new = state_of(envelope)

        async def effect(db: Database[dict[str, Any]], session: Session) -> Sequence[Staged]:
            await apply_change(db, new, session=session)
            return []

        return await apply_once(committer, envelope, delivery, effect, person=new.person_id)

    handler: Any = on_change  # one handler for both event classes
    for event_cls in (ConsentGranted, ConsentRevoked):
        subscribe(
            runtime.broker,
            consumer_service=consumer_service,
            event_cls=event_cls,
            handler=handler,
            js=lambda: runtime.js,
            max_deliver=max_deliver,
            metrics=metrics or runtime.metrics,
        )
