"""Use cases on entries: publish, read, update, verify (API or link), report outdated, tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, NotFound, field_error
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.social_map import (
    CorrectionReported,
    EntryPublished,
    EntryUpdated,
    EntryVerified,
)
from wijkkracht_common.storage import Session
from wijkkracht_common.tenancy import is_valid_slug

from social_map.adapters import repositories as repo
from social_map.adapters.documents import StoredEntry, open_reporters, pc4s_of
from social_map.adapters.repositories import Repository
from social_map.domain import freshness as fresh
from social_map.domain import verification_token
from social_map.domain.errors import DomainValidationError
from social_map.domain.model import (
    Contact,
    Cost,
    Eligibility,
    Entry,
    EntryKind,
    Language,
    LocationType,
    Organization,
    Phone,
    Schedule,
    ServiceAtLocation,
    ServiceStatus,
    field_errors,
)
from social_map.domain.tasks import CorrectionTask
from social_map.service import permissions
from social_map.service.context import ServiceContext
from social_map.service.freshness import announce

NOT_FOUND = "Aanbod niet gevonden. / Entry not found."


class EntryDraft(BaseModel):
    """What an owner writes; id, tenant, freshness and revision are the service's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: EntryKind = EntryKind.SERVICE
    organization_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    alternate_name: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=4000)
    url: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=300)
    status: ServiceStatus = ServiceStatus.ACTIVE
    category_codes: list[str] = []
    service_at_locations: list[ServiceAtLocation] = []
    schedules: list[Schedule] = []
    contacts: list[Contact] = []
    phones: list[Phone] = []
    cost: Cost = Cost()
    eligibility: Eligibility = Eligibility()
    languages: list[Language] = []

    @field_validator("service_at_locations")
    @classmethod
    def _physical_places_on_the_map(cls, sals: list[ServiceAtLocation]) -> list[ServiceAtLocation]:
        """An owner gives a physical location its coordinates (only an import may keep one
        without, when it dropped unusable ones)."""
        for i, sal in enumerate(sals):
            loc = sal.location
            if loc.location_type is LocationType.PHYSICAL and loc.latitude is None:
                raise ValueError(f"[{i}]: a physical location needs latitude and longitude")
        return sals


def _build(data: dict[str, Any]) -> Entry:
    try:
        return Entry.model_validate(data)
    except ValidationError as exc:
        raise DomainValidationError(field_errors(exc)) from None


def _facts(entry: Entry, owner_slug: str | None) -> dict[str, Any]:
    return {
        "entry_id": entry.id,
        "organization_id": entry.organization_id,
        "owner_organisation": owner_slug,
        "revision": entry.revision,
    }


async def _owner(reader: Repository, principal: Principal, organization_id: str) -> Organization:
    """The owner record; an org admin's first entry creates the record of its organisation."""
    org = await reader.get_organisation(organization_id)
    if org is not None:
        return org
    if organization_id in principal.organisations_with(permissions.ORG_ADMIN):
        org = Organization(
            id=organization_id, name=organization_id, tenant_org_slug=organization_id
        )
        await reader.save_organisation(org)
        return org
    raise InvalidInput(
        "Onbekende organisatie. / Unknown organisation.",
        errors=[field_error("organization_id", f"unknown organisation {organization_id!r}")],
    )


async def create_entry(ctx: ServiceContext, principal: Principal, draft: EntryDraft) -> StoredEntry:
    tenant, now = principal.tenant, ctx.now()
    reader = await ctx.reader(tenant)
    view = await ctx.view(tenant)
    view.taxonomy.validate_codes(draft.category_codes)
    org = await _owner(reader, principal, draft.organization_id)
    permissions.require_manage(principal, org.tenant_org_slug)
    entry = _build(
        {
            **draft.model_dump(),
            "id": new_event_id(),
            "tenant": tenant,
            "assured_at": now,
            "assured_by": principal.subject,
        }
    )

    async def work(db: repo.Db, session: Session) -> tuple[StoredEntry, list[Envelope[Any]]]:
        r = ctx.repo(db, session)
        stored = await r.save_entry(
            entry,
            owner_slug=org.tenant_org_slug,
            version=1,
            view=await ctx.with_current_policy(r, view),
            now=now,
        )
        event = new_event(
            EntryPublished(
                **_facts(entry, org.tenant_org_slug),
                kind=entry.kind.value,
                category_codes=entry.category_codes,
                pc4s=pc4s_of(entry),
            ),
            tenant=tenant,
            subject=entry.id,
            actor=principal.subject,
            organisation=org.tenant_org_slug,
        )
        return stored, [event]

    return await ctx.commit(tenant, work)


async def load(ctx: ServiceContext, tenant: str, entry_id: str) -> StoredEntry:
    stored = await (await ctx.reader(tenant)).get_entry(entry_id)
    if stored is None:
        raise NotFound(NOT_FOUND)
    return stored


async def read_entry(
    ctx: ServiceContext, principal: Principal, entry_id: str
) -> tuple[StoredEntry, bool]:
    """The entry and whether the caller manages it; a hidden entry exists only for those
    who manage it (404 for everyone else, like an unknown id)."""
    stored = await load(ctx, principal.tenant, entry_id)
    policy = (await ctx.view(principal.tenant)).policy
    manager = permissions.can_manage(principal, stored.owner_slug)
    if not manager and fresh.state(stored.entry, policy, ctx.now()) is fresh.FreshnessState.HIDDEN:
        raise NotFound(NOT_FOUND)
    return stored, manager


async def update_entry(
    ctx: ServiceContext, principal: Principal, entry_id: str, draft: EntryDraft
) -> StoredEntry:
    """An owner's edit also counts as a check: assured_at is reset, open reports close."""
    tenant, now = principal.tenant, ctx.now()
    reader = await ctx.reader(tenant)
    view = await ctx.view(tenant)
    current = await load(ctx, tenant, entry_id)
    permissions.require_manage(principal, current.owner_slug)
    view.taxonomy.validate_codes(draft.category_codes)
    owner_slug = current.owner_slug
    if draft.organization_id != current.entry.organization_id:
        org = await _owner(reader, principal, draft.organization_id)
        permissions.require_manage(principal, org.tenant_org_slug)
        owner_slug = org.tenant_org_slug
    merged = _build({**current.entry.model_dump(), **draft.model_dump()})
    entry = fresh.verify(merged, principal.subject, now)

    async def work(db: repo.Db, session: Session) -> tuple[StoredEntry, list[Envelope[Any]]]:
        r = ctx.repo(db, session)
        latest = await r.get_entry(entry_id)
        version = (latest.version if latest else current.version) + 1
        stored = await r.save_entry(
            entry,
            owner_slug=owner_slug,
            version=version,
            view=await ctx.with_current_policy(r, view),
            now=now,
        )
        await r.close_tasks(entry_id, now)
        event = new_event(
            EntryUpdated(
                **_facts(entry, owner_slug),
                kind=entry.kind.value,
                status=entry.status.value,
                category_codes=entry.category_codes,
                pc4s=pc4s_of(entry),
            ),
            tenant=tenant,
            subject=entry.id,
            actor=principal.subject,
            organisation=owner_slug,
        )
        return stored, [event]

    return await ctx.commit(tenant, work)


async def _verify(
    ctx: ServiceContext,
    tenant: str,
    entry_id: str,
    *,
    by: str,
    via: str,
    check: Any = None,
) -> StoredEntry:
    now = ctx.now()
    view = await ctx.view(tenant)

    async def work(db: repo.Db, session: Session) -> tuple[StoredEntry, list[Envelope[Any]]]:
        r = ctx.repo(db, session)
        current = await r.get_entry(entry_id)
        if current is None:
            raise NotFound(NOT_FOUND)
        if check is not None:
            check(current.entry)
        entry = fresh.verify(current.entry, by, now)
        stored = await r.save_entry(
            entry,
            owner_slug=current.owner_slug,
            version=current.version + 1,
            view=await ctx.with_current_policy(r, view),
            now=now,
        )
        await r.close_tasks(entry_id, now)
        event = new_event(
            EntryVerified(
                **_facts(entry, current.owner_slug),
                assured_at=now,
                via=via,
                previous_state=current.freshness.value,
            ),
            tenant=tenant,
            subject=entry_id,
            actor=by,
            organisation=current.owner_slug,
        )
        return stored, [event]

    return await ctx.commit(tenant, work)


async def verify_entry(ctx: ServiceContext, principal: Principal, entry_id: str) -> StoredEntry:
    current = await load(ctx, principal.tenant, entry_id)
    permissions.require_manage(principal, current.owner_slug)
    return await _verify(ctx, principal.tenant, entry_id, by=principal.subject, via="api")


def _peek(ctx: ServiceContext, token: str) -> tuple[str, str]:
    tenant, entry_id = verification_token.peek(token, ctx.link_secret)
    if not is_valid_slug(tenant):
        raise verification_token.TokenError(verification_token.TokenProblem.MALFORMED)
    return tenant, entry_id


async def verify_by_link(ctx: ServiceContext, token: str) -> StoredEntry:
    """The signed link is the only credential: it names tenant and entry, bound to revision."""
    tenant, entry_id = _peek(ctx, token)
    now = ctx.now()
    secret = ctx.link_secret(tenant)

    def check(entry: Entry) -> None:
        verification_token.check(secret, token, tenant, entry, now)

    return await _verify(ctx, tenant, entry_id, by="verification-link", via="link", check=check)


async def link_target(ctx: ServiceContext, token: str) -> StoredEntry:
    """Check a link without using it (the GET confirmation page)."""
    tenant, entry_id = _peek(ctx, token)
    stored = await (await ctx.reader(tenant)).get_entry(entry_id)
    if stored is None:
        raise verification_token.TokenError(verification_token.TokenProblem.WRONG_ENTRY)
    verification_token.check(ctx.link_secret(tenant), token, tenant, stored.entry, ctx.now())
    return stored


async def report_outdated(
    ctx: ServiceContext, principal: Principal, entry_id: str, note: str
) -> CorrectionTask:
    """ "Dit klopt niet meer": a task for the owner; the clock of the entry shortens."""
    tenant, now = principal.tenant, ctx.now()
    view = await ctx.view(tenant)
    report_id = new_event_id()

    async def work(db: repo.Db, session: Session) -> tuple[CorrectionTask, list[Envelope[Any]]]:
        r = ctx.repo(db, session)
        current = await r.get_entry(entry_id)
        if current is None or current.freshness is fresh.FreshnessState.HIDDEN:
            raise NotFound(NOT_FOUND)
        policy_view = await ctx.with_current_policy(r, view)
        entry = fresh.report_outdated(current.entry, report_id, principal.subject, note, now)
        new_state = fresh.freshness_state(
            entry.assured_at, open_reporters(entry), policy_view.policy, now
        )
        events: list[Envelope[Any]] = list(
            await announce(
                ctx,
                r,
                tenant=tenant,
                entry=entry,
                owner_slug=current.owner_slug,
                previous=current.freshness,
                new=new_state,
                now=now,
                actor=principal.subject,
            )
        )
        await r.save_entry(
            entry,
            owner_slug=current.owner_slug,
            version=current.version + 1,
            view=policy_view,
            now=now,
            freshness=max(current.freshness, new_state, key=_rank),
        )
        task = CorrectionTask.opened(
            report_id,
            entry,
            owner_slug=current.owner_slug,
            note=note,
            reporter=principal.subject,
            now=now,
        )
        await r.add_task(task)
        events.append(
            new_event(
                CorrectionReported(
                    **_facts(entry, current.owner_slug),
                    report_id=report_id,
                    open_reports=len(entry.open_reports),
                ),
                tenant=tenant,
                subject=entry_id,
                actor=principal.subject,
                organisation=current.owner_slug,
            )
        )
        return task, events

    return await ctx.commit(tenant, work)


def _rank(state: fresh.FreshnessState) -> int:
    return list(fresh.FreshnessState).index(state)


async def tasks(
    ctx: ServiceContext, principal: Principal, status: str | None
) -> Sequence[CorrectionTask]:
    """Reports on the entries the caller manages (a manager: all), oldest first."""
    slugs = permissions.managed_slugs(principal)
    if slugs is not None and not slugs:
        permissions.require_curator(principal)
    return await (await ctx.reader(principal.tenant)).tasks(slugs, status)
