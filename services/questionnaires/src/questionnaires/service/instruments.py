"""Instrument use cases: shipped catalogue per tenant, import, publish, retire, lookup.

Shipped instruments are copied into each tenant's `instruments` collection the first time a
process touches the tenant (published, owner None, read-only), so lookups, lists and the
`instrument_published` events are the same for shipped and imported instruments.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, Forbidden
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.questionnaires import InstrumentPublished, InstrumentPurpose
from wijkkracht_common.storage import Database, Session, is_duplicate_key

from questionnaires.adapters.documents import (
    INSTRUMENTS,
    definition_of,
    instrument_doc,
    instrument_key,
)
from questionnaires.domain.catalog import shipped_instruments
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.errors import InvalidDefinition, LifecycleError
from questionnaires.domain.fhir_import import import_fhir_questionnaire
from questionnaires.domain.importing import import_definition_json
from questionnaires.service.context import Context, purpose_for_family, utcnow
from questionnaires.service.problems import definition_issues, not_found

ImportFormat = Literal["json", "fhir"]
_seed_lock = asyncio.Lock()


def published_event(
    definition: InstrumentDefinition,
    purpose: str,
    *,
    tenant: str,
    actor: str | None,
    organisation: str | None,
) -> Envelope[InstrumentPublished]:
    return new_event(
        InstrumentPublished(
            instrument_id=definition.id,
            family=definition.family,
            variant=definition.variant,
            version=definition.version,
            purpose=purpose,  # type: ignore[arg-type]
            dimension_codes=[r.dimension for r in definition.scoring],
        ),
        tenant=tenant,
        subject=instrument_key(definition.id, definition.version),
        actor=actor,
        organisation=organisation,
    )


async def ensure_tenant(ctx: Context, tenant: str) -> None:
    """Publish the shipped instruments in `tenant` once (idempotent across processes)."""
    if tenant in ctx.seeded_tenants:
        return
    async with _seed_lock:
        if tenant in ctx.seeded_tenants:
            return
        db = await ctx.db(tenant)
        keys = [instrument_key(d.id, d.version) for d in shipped_instruments()]
        present = {d["_id"] async for d in db[INSTRUMENTS].find({"_id": {"$in": keys}}, {"_id": 1})}
        missing = [
            d for d in shipped_instruments() if instrument_key(d.id, d.version) not in present
        ]
        if missing:

            async def work(
                db: Database[dict[str, Any]], session: Session
            ) -> tuple[None, list[Envelope[Any]]]:
                events: list[Envelope[Any]] = []
                for definition in missing:
                    purpose = purpose_for_family(definition.family)
                    await db[INSTRUMENTS].insert_one(
                        instrument_doc(definition, owner=None, purpose=purpose), session=session
                    )
                    events.append(
                        published_event(
                            definition, purpose, tenant=tenant, actor="system", organisation=None
                        )
                    )
                return None, events

            try:
                await ctx.commit(tenant, work)
            except Exception as error:
                if not is_duplicate_key(error):  # another process seeded it first
                    raise
        ctx.seeded_tenants.add(tenant)


def _visible(doc: dict[str, Any], principal: Principal | None) -> bool:
    """Published/retired versions are visible in the tenant; drafts only to their org's admins."""
    if doc["status"] != "draft":
        return True
    return principal is not None and "org_admin" in principal.roles_in(doc.get("owner") or "")


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    definition = definition_of(doc)
    return {
        "id": doc["instrument_id"],
        "version": doc["version"],
        "status": doc["status"],
        "family": doc["family"],
        "variant": doc["variant"],
        "purpose": doc["purpose"],
        "owner": doc.get("owner"),
        "shipped": doc.get("owner") is None,
        "respondent": definition.respondent,
        "languages": list(definition.languages),
        "parameters": list(definition.parameters),
        "title": definition.title.model_dump(),
    }


async def load_doc(
    ctx: Context,
    tenant: str,
    instrument_id: str,
    version: int | None,
    principal: Principal | None,
) -> dict[str, Any]:
    """One version (or the latest published one when `version` is None) visible to the caller."""
    await ensure_tenant(ctx, tenant)
    db = await ctx.db(tenant)
    if version is None:
        docs = (
            await db[INSTRUMENTS]
            .find({"instrument_id": instrument_id, "status": "published"})
            .sort("version", -1)
            .limit(1)
            .to_list(None)
        )
        doc = docs[0] if docs else None
    else:
        doc = await db[INSTRUMENTS].find_one({"_id": instrument_key(instrument_id, version)})
    if doc is None or not _visible(doc, principal):
        raise not_found("Vragenlijst")
    return doc


async def definition(
    ctx: Context, tenant: str, instrument_id: str, version: int
) -> InstrumentDefinition:
    """A published or retired version (responses only exist on those), cached."""
    key = (tenant, instrument_id, version)
    cached = ctx.definitions.get(key)
    if cached is not None:
        return cached
    db = await ctx.db(tenant)
    doc = await db[INSTRUMENTS].find_one({"_id": instrument_key(instrument_id, version)})
    if doc is None:
        raise not_found("Vragenlijst")
    found = definition_of(doc)
    if doc["status"] != "draft":
        ctx.definitions[key] = found
    return found


def _org_admin(principal: Principal, organisation: str) -> None:
    if "org_admin" not in principal.roles_in(organisation):
        raise Forbidden(
            "Alleen een beheerder van deze organisatie mag dit. / Only an administrator of "
            "this organisation may do this.",
            required_roles=["org_admin"],
        )


async def import_instrument(
    ctx: Context,
    principal: Principal,
    *,
    organisation: str,
    fmt: ImportFormat,
    payload: dict[str, Any],
    purpose: InstrumentPurpose | None,
) -> dict[str, Any]:
    """All or nothing: a definition with any problem is reported (422) and nothing is stored.
    The result is a draft; a new id starts at version 1, a known id gets latest + 1 (or
    replaces the current draft)."""
    _org_admin(principal, organisation)
    tenant = principal.tenant
    await ensure_tenant(ctx, tenant)
    result = (
        import_fhir_questionnaire(payload)
        if fmt == "fhir"
        else import_definition_json(payload, as_draft=True)
    )
    if result.definition is None:
        raise definition_issues(result.issues)
    imported = result.definition.model_copy(update={"status": "draft"})

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[dict[str, Any], list[Envelope[Any]]]:
        existing = (
            await db[INSTRUMENTS]
            .find({"instrument_id": imported.id}, session=session)
            .sort("version", -1)
            .to_list(None)
        )
        version = 1
        if existing:
            latest = existing[0]
            if latest.get("owner") != organisation:
                raise Conflict(
                    "Deze id is al in gebruik door een andere vragenlijst. / This id is already "
                    "used by another questionnaire.",
                    kind="instrument-id-taken",
                )
            version = latest["version"] if latest["status"] == "draft" else latest["version"] + 1
            await db[INSTRUMENTS].delete_one(
                {"_id": instrument_key(imported.id, version), "status": "draft"}, session=session
            )
        draft = imported.model_copy(update={"version": version})
        doc = instrument_doc(
            draft, owner=organisation, purpose=purpose or purpose_for_family(draft.family)
        )
        await db[INSTRUMENTS].insert_one(doc, session=session)
        return summary(doc), []

    return await ctx.commit(tenant, work)


async def change_status(
    ctx: Context,
    principal: Principal,
    instrument_id: str,
    version: int,
    action: Literal["publish", "retire"],
) -> dict[str, Any]:
    tenant = principal.tenant
    doc = await load_doc(ctx, tenant, instrument_id, version, principal)
    if doc.get("owner") is None:
        raise Forbidden(
            "Meegeleverde vragenlijsten zijn alleen-lezen. / Shipped questionnaires are read-only."
        )
    _org_admin(principal, doc["owner"])
    current = definition_of(doc)
    now = utcnow()
    try:
        changed = current.publish(now) if action == "publish" else current.retire(now)
    except InvalidDefinition as error:
        raise definition_issues(error.issues) from error
    except LifecycleError as error:
        raise Conflict(
            f"Deze statuswijziging kan niet: {error}. / This status change is not allowed: "
            f"{error}.",
            kind="lifecycle",
        ) from error

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[dict[str, Any], list[Envelope[Any]]]:
        updated = await db[INSTRUMENTS].update_one(
            {"_id": doc["_id"], "status": current.status},
            {"$set": {"status": changed.status, "body": changed.model_dump_json()}},
            session=session,
        )
        if updated.matched_count != 1:
            raise Conflict(
                "De vragenlijst is intussen gewijzigd. / The questionnaire changed "
                "in the meantime.",
                kind="lifecycle",
            )
        events: list[Envelope[Any]] = []
        if action == "publish":
            events.append(
                published_event(
                    changed,
                    doc["purpose"],
                    tenant=tenant,
                    actor=principal.subject,
                    organisation=doc["owner"],
                )
            )
        return summary({**doc, "status": changed.status, "body": changed.model_dump_json()}), events

    result = await ctx.commit(tenant, work)
    ctx.definitions.pop((tenant, instrument_id, version), None)
    return result


__all__ = [
    "change_status",
    "definition",
    "definition_of",
    "ensure_tenant",
    "import_instrument",
    "load_doc",
    "published_event",
    "summary",
]
