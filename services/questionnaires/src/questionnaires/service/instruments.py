"""Instrument use cases: shipped catalogue per tenant, import, publish, retire, lookup.

Shipped instruments are copied into each tenant's `instruments` collection the first time a
process touches the tenant (published, owner None, read-only), so lookups, lists and the
`instrument_published` events are the same for shipped and imported instruments.
"""

from __future__ import annotations

from typing import Any, Literal

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.questionnaires import InstrumentPublished, InstrumentPurpose
from wijkkracht_common.storage import is_duplicate_key

from questionnaires.adapters.repositories import Repositories
from questionnaires.domain.catalog import shipped_instruments
from questionnaires.domain.definition import InstrumentDefinition, Status
from questionnaires.domain.errors import InvalidDefinition, LifecycleError
from questionnaires.domain.fhir_import import import_fhir_questionnaire
from questionnaires.domain.importing import import_definition_json
from questionnaires.domain.instrument import Instrument, purpose_for_family
from questionnaires.service import access
from questionnaires.service.context import Context
from questionnaires.service.problems import definition_issues, not_found

ImportFormat = Literal["json", "fhir"]


def published_event(
    instrument: Instrument, *, tenant: str, actor: str | None
) -> Envelope[InstrumentPublished]:
    definition = instrument.definition
    return new_event(
        InstrumentPublished(
            instrument_id=definition.id,
            family=definition.family,
            variant=definition.variant,
            version=definition.version,
            purpose=instrument.purpose,
            dimension_codes=[r.dimension for r in definition.scoring],
        ),
        tenant=tenant,
        subject=instrument.key,
        actor=actor,
        organisation=instrument.owner,
    )


async def ensure_tenant(ctx: Context, tenant: str) -> None:
    """Publish the shipped instruments in `tenant` once (idempotent across processes)."""
    if tenant in ctx.seeded_tenants:
        return
    async with ctx.seed_lock:
        if tenant in ctx.seeded_tenants:
            return
        # A consumer's seeding waits here behind other tenants' seedings. Once the service is
        # stopping it gives way before it creates the tenant's database (wijkkracht_common.intake).
        ctx.intake.admit()
        shipped = shipped_instruments()
        stored = await (await ctx.reader(tenant)).instruments.stored(
            [(d.id, d.version) for d in shipped]
        )
        missing = [
            Instrument(d, None, purpose_for_family(d.family))
            for d in shipped
            if (d.id, d.version) not in stored
        ]
        if missing:

            async def work(repos: Repositories) -> tuple[None, list[Envelope[Any]]]:
                events: list[Envelope[Any]] = []
                for instrument in missing:
                    await repos.instruments.add(instrument)
                    events.append(published_event(instrument, tenant=tenant, actor="system"))
                return None, events

            try:
                await ctx.commit(tenant, work)
            except Exception as error:
                if not is_duplicate_key(error):  # another process seeded it first
                    raise
        ctx.seeded_tenants.add(tenant)


def summary(instrument: Instrument) -> dict[str, Any]:
    definition = instrument.definition
    return {
        "id": definition.id,
        "version": definition.version,
        "status": definition.status,
        "family": definition.family,
        "variant": definition.variant,
        "purpose": instrument.purpose,
        "owner": instrument.owner,
        "shipped": instrument.shipped,
        "respondent": definition.respondent,
        "languages": list(definition.languages),
        "parameters": list(definition.parameters),
        "title": definition.title.model_dump(),
    }


async def load(
    ctx: Context,
    tenant: str,
    instrument_id: str,
    version: int | None,
    principal: Principal | None,
) -> Instrument:
    """One version (or the latest published one when `version` is None) visible to the caller."""
    await ensure_tenant(ctx, tenant)
    instruments = (await ctx.reader(tenant)).instruments
    found = (
        await instruments.latest_published(instrument_id)
        if version is None
        else await instruments.get(instrument_id, version)
    )
    if found is None or not access.instrument_visible(principal, found):
        raise not_found("Vragenlijst")
    return found


async def definition(
    ctx: Context, tenant: str, instrument_id: str, version: int
) -> InstrumentDefinition:
    """A published or retired version (responses only exist on those), cached."""
    key = (tenant, instrument_id, version)
    cached = ctx.definitions.get(key)
    if cached is not None:
        return cached
    found = await (await ctx.reader(tenant)).instruments.get(instrument_id, version)
    if found is None:
        raise not_found("Vragenlijst")
    if found.status != "draft":
        ctx.definitions[key] = found.definition
    return found.definition


async def page(
    ctx: Context,
    principal: Principal,
    *,
    status: Status | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Shipped and organisation instruments of the caller's tenant; drafts only for the
    owning organisation's admins."""
    await ensure_tenant(ctx, principal.tenant)
    found, next_cursor = await (await ctx.reader(principal.tenant)).instruments.page(
        drafts_of=access.draft_organisations(principal), status=status, limit=limit, cursor=cursor
    )
    return [summary(i) for i in found], next_cursor


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
    access.require_org_admin(principal, organisation)
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

    async def work(repos: Repositories) -> tuple[dict[str, Any], list[Envelope[Any]]]:
        existing = await repos.instruments.versions(imported.id)
        version = 1
        if existing:
            latest = existing[0]
            if latest.owner != organisation:
                raise Conflict(
                    "Deze id is al in gebruik door een andere vragenlijst. / This id is already "
                    "used by another questionnaire.",
                    kind="instrument-id-taken",
                )
            version = latest.version if latest.status == "draft" else latest.version + 1
            await repos.instruments.delete_draft(imported.id, version)
        draft = imported.model_copy(update={"version": version})
        instrument = Instrument(draft, organisation, purpose or purpose_for_family(draft.family))
        await repos.instruments.add(instrument)
        return summary(instrument), []

    return await ctx.commit(tenant, work)


async def change_status(
    ctx: Context,
    principal: Principal,
    instrument_id: str,
    version: int,
    action: Literal["publish", "retire"],
) -> dict[str, Any]:
    tenant = principal.tenant
    current = await load(ctx, tenant, instrument_id, version, principal)
    access.require_instrument_admin(principal, current)
    now = ctx.now()
    try:
        changed = current.with_definition(
            current.definition.publish(now)
            if action == "publish"
            else current.definition.retire(now)
        )
    except InvalidDefinition as error:
        raise definition_issues(error.issues) from error
    except LifecycleError as error:
        raise Conflict(
            f"Deze statuswijziging kan niet: {error}. / This status change is not allowed: "
            f"{error}.",
            kind="lifecycle",
        ) from error

    async def work(repos: Repositories) -> tuple[dict[str, Any], list[Envelope[Any]]]:
        if not await repos.instruments.change_status(changed, expected=current.status):
            raise Conflict(
                "De vragenlijst is intussen gewijzigd. / The questionnaire changed "
                "in the meantime.",
                kind="lifecycle",
            )
        events: list[Envelope[Any]] = []
        if action == "publish":
            events.append(published_event(changed, tenant=tenant, actor=principal.subject))
        return summary(changed), events

    result = await ctx.commit(tenant, work)
    ctx.definitions.pop((tenant, instrument_id, version), None)
    return result


__all__ = [
    "change_status",
    "definition",
    "ensure_tenant",
    "import_instrument",
    "load",
    "page",
    "published_event",
    "summary",
]
