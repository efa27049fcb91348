"""Local projection of identity's consents, and who may see which response.

Rules (README "Sharing"): the resident sees their own responses; the professional or volunteer
who assisted sees the response they filled in together; any other professional or volunteer
sees a resident's responses only when the resident granted `share_results` to one of the
caller's organisations. Everyone else gets 404, so the existence of a response is not leaked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wijkkracht_common.access_log import record_access
from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import ConsentPurpose
from wijkkracht_common.events.questionnaires import ResponseShared
from wijkkracht_common.storage import Database, Session

from questionnaires.adapters.documents import CONSENTS, SHARES
from questionnaires.service.context import SERVICE, Context, utcnow

STAFF_ROLES = ("professional", "volunteer")


def consent_key(person_id: str, organisation: str, purpose: str) -> str:
    return f"{person_id}:{organisation}:{purpose}"


async def apply_consent(
    db: Database[dict[str, Any]],
    *,
    person_id: str,
    organisation: str,
    purpose: str,
    granted: bool,
    at: datetime,
    session: Session,
) -> None:
    """Newest event wins (events of one person may arrive out of order after a retry)."""
    key = consent_key(person_id, organisation, purpose)
    current = await db[CONSENTS].find_one({"_id": key}, session=session)
    if current is not None and current["at"] > at:
        return
    await db[CONSENTS].replace_one(
        {"_id": key},
        {
            "_id": key,
            "person_id": person_id,
            "organisation": organisation,
            "purpose": purpose,
            "state": "granted" if granted else "revoked",
            "at": at,
        },
        upsert=True,
        session=session,
    )


async def consenting_orgs(
    db: Database[dict[str, Any]], principal: Principal, person_id: str, purpose: ConsentPurpose
) -> list[str]:
    """The caller's staff organisations to which `person_id` granted `purpose`."""
    orgs = principal.organisations_with(*STAFF_ROLES)
    if not orgs:
        return []
    keys = [consent_key(person_id, o, purpose) for o in orgs]
    return sorted(
        {
            d["organisation"]
            async for d in db[CONSENTS].find({"_id": {"$in": keys}, "state": "granted"})
        }
    )


class Viewer:
    """Why the caller may see a response: 'owner', 'assisted' or 'share_results:<org>'."""

    def __init__(self, reason: str, organisation: str | None = None) -> None:
        self.reason = reason
        self.organisation = organisation

    @property
    def is_owner(self) -> bool:
        return self.reason == "owner"


async def viewer_of(
    db: Database[dict[str, Any]], principal: Principal, doc: dict[str, Any]
) -> Viewer | None:
    person = doc.get("person_id")
    if person is not None and principal.person_id == person:
        return Viewer("owner")
    if doc.get("assisted_by") == principal.subject and principal.has_role(*STAFF_ROLES):
        return Viewer("assisted", doc.get("organisation"))
    if person is None or doc.get("status") != "submitted":
        return None
    orgs = await consenting_orgs(db, principal, person, "share_results")
    return Viewer("share_results", orgs[0]) if orgs else None


async def log_view(
    ctx: Context,
    principal: Principal,
    doc: dict[str, Any],
    viewer: Viewer,
    *,
    what: str,
    action: str = "read",
    share_format: str = "view",
    shared_with: str | None = None,
) -> None:
    """NEN 7513 access record for a view by someone else; the first view of a response by an
    organisation (or each FHIR export) also emits `response_shared`."""
    if viewer.is_owner or doc.get("person_id") is None:
        return
    person_id: str = doc["person_id"]
    target = shared_with or viewer.organisation or "unknown"
    share_id = f"{doc['_id']}:{target}:{share_format}"

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[None, list[Envelope[Any]]]:
        await record_access(
            db,
            service=SERVICE,
            principal=principal,
            resident=person_id,
            action=action,
            resource=f"response/{doc['_id']}/{what}",
            reason=viewer.reason,
            on_behalf_of=viewer.organisation,
            session=session,
        )
        if share_format == "view":
            if await db[SHARES].find_one({"_id": share_id}, session=session):
                return None, []
            await db[SHARES].insert_one(
                {"_id": share_id, "response_id": doc["_id"], "at": utcnow()}, session=session
            )
        event = new_event(
            ResponseShared(
                response_id=doc["_id"], person_id=person_id, shared_with=target, format=share_format
            ),  # type: ignore[arg-type]
            tenant=principal.tenant,
            subject=doc["_id"],
            actor=principal.subject,
            organisation=viewer.organisation,
        )
        return None, [event]

    await ctx.commit(principal.tenant, work)
