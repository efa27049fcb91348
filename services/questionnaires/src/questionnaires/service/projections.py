"""Effects of other services' events: consent projection, tenant registry, erasure.

Every effect is applied in one transaction with its inbox claim (`claim(db, session)`), so a
redelivered event is acknowledged without a second effect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataErased
from wijkkracht_common.storage import Database, Session

from questionnaires.adapters.documents import (
    CONSENTS,
    INVITATIONS,
    RESPONSES,
    SHARES,
    TENANTS,
    response_of,
)
from questionnaires.domain.answers import ItemAnswer
from questionnaires.service import instruments
from questionnaires.service.consents import apply_consent
from questionnaires.service.context import Context, utcnow

Claim = Callable[[Database[dict[str, Any]], Session], Awaitable[bool]]


async def consent_changed(
    ctx: Context,
    tenant: str,
    *,
    person_id: str,
    organisation: str,
    purpose: str,
    granted: bool,
    at: datetime,
    claim: Claim,
) -> bool:
    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[bool, list[Envelope[Any]]]:
        if not await claim(db, session):
            return False, []
        await apply_consent(
            db,
            person_id=person_id,
            organisation=organisation,
            purpose=purpose,
            granted=granted,
            at=at,
            session=session,
        )
        return True, []

    return await ctx.commit(tenant, work)


async def tenant_created(ctx: Context, tenant_slug: str, claim: Claim) -> bool:
    """Remember the tenant (anonymous starts are only accepted for known tenants) and publish
    the shipped instruments there."""
    storage = ctx.runtime.storage
    db = await storage.platform_db()

    async def apply(session: Session) -> bool:
        if not await claim(db, session):
            return False
        await db[TENANTS].replace_one(
            {"_id": tenant_slug}, {"_id": tenant_slug, "at": utcnow()}, upsert=True, session=session
        )
        return True

    applied = await storage.in_transaction(db, apply)
    await instruments.ensure_tenant(ctx, tenant_slug)
    return applied


async def is_known_tenant(ctx: Context, tenant: str) -> bool:
    """Registered by identity's `tenant_created`, or already in use in this service."""
    storage = ctx.runtime.storage
    if tenant in ctx.seeded_tenants:
        return True
    db = await storage.platform_db()
    if await db[TENANTS].find_one({"_id": tenant}) is not None:
        return True
    return tenant in await storage.tenants()


def _anonymised(doc: dict[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """A submitted response without the person: free-text answers, who assisted and who
    started or submitted it are removed; scores and coded answers stay for anonymous statistics."""
    response = response_of(doc)
    answers = {
        k: (
            ItemAnswer(skipped=a.skipped)
            if isinstance(a.value, str) and types.get(k, "short_text") == "short_text"
            else a
        )
        for k, a in response.answers.items()
    }
    cleaned = response.model_copy(
        update={"subject_id": None, "assisted_by": None, "answers": answers}
    )
    return {
        "person_id": None,
        "assisted_by": None,
        "organisation": None,
        "invitation_id": None,
        "body": cleaned.model_dump_json(),
        "anonymised": "yes",
        # who started/submitted it: `started_by` is the person or staff subject, and the
        # submit's Idempotency-Key is scoped by the caller's subject.
        "started_by": None,
        "submit_key": None,
        "submit_fingerprint": None,
    }


async def erase_person(
    ctx: Context, tenant: str, *, person_id: str, actor: str | None, claim: Claim
) -> bool:
    """In-progress responses, invitations and consents are deleted; submitted responses are
    anonymised (kept without the person for anonymous statistics); then the counts are
    published as `person_data_erased`."""

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[bool, list[Envelope[Any]]]:
        if not await claim(db, session):
            return False, []
        in_progress = await db[RESPONSES].delete_many(
            {"person_id": person_id, "status": "in_progress"}, session=session
        )
        submitted = (
            await db[RESPONSES]
            .find({"person_id": person_id, "status": "submitted"}, session=session)
            .to_list(None)
        )
        for doc in submitted:
            definition = await instruments.definition(
                ctx, tenant, doc["instrument_id"], doc["version"]
            )
            types = {i.link_id: i.answer_type for i in definition.items()}
            await db[RESPONSES].update_one(
                {"_id": doc["_id"]}, {"$set": _anonymised(doc, types)}, session=session
            )
            await db[SHARES].delete_many({"response_id": doc["_id"]}, session=session)
        invitations = await db[INVITATIONS].delete_many({"person_id": person_id}, session=session)
        consents = await db[CONSENTS].delete_many({"person_id": person_id}, session=session)
        event = new_event(
            QuestionnairesPersonDataErased(
                person_id=person_id,
                erased={
                    "responses_in_progress": in_progress.deleted_count,
                    "invitations": invitations.deleted_count,
                    "consents": consents.deleted_count,
                },
                anonymised={"responses": len(submitted)},
            ),
            tenant=tenant,
            subject=person_id,
            actor=actor,
        )
        return True, [event]

    return await ctx.commit(tenant, work)
