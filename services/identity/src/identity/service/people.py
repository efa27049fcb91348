"""People: self-registration, assisted registration, staff accounts, memberships, profile,
erasure requests. Events carry ids and the coarse profile only (never names or e-mails)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wijkkracht_common.access_log import record_access
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden, InvalidInput, NotFound, field_error
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.identity import (
    MembershipChanged,
    PersonErasureRequested,
    PersonProfileUpdated,
    PersonRegistered,
)
from wijkkracht_common.storage import is_duplicate_key

from identity.adapters import repositories as repo
from identity.adapters.documents import restore_datetimes
from identity.domain.emails import normalise_email
from identity.domain.login_codes import LoginCode, issue_login_code
from identity.domain.memberships import Membership
from identity.domain.password_policy import check_password
from identity.domain.people import HouseholdType, Person, new_person
from identity.domain.roles import Role
from identity.domain.texts import Text
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.directory import require_organisation
from identity.service.problems import conflict

EMAIL_TAKEN = Text(
    "Er is al een account met dit e-mailadres.", "An account with this e-mail address exists."
)
ERASURE_PENDING = Text(
    "Verwijdering van dit account is al aangevraagd.", "Erasure of this account was requested."
)
STAFF_ROLES = frozenset(Role) - {Role.RESIDENT}

# The domain distinguishes "couple without children"; the event vocabulary calls it "couple".
_EVENT_HOUSEHOLD = {HouseholdType.COUPLE_WITHOUT_CHILDREN: "couple"}


def coarse_profile(person: Person, year: int) -> dict[str, Any]:
    """What other services may know for grouping: PC4, neighbourhood, age band, household."""
    household = person.household_type
    return {
        "pc4": person.pc4,
        "neighbourhood_code": person.neighbourhood_code,
        "age_band": person.age_band(year),
        "household_type": None
        if household is None
        else _EVENT_HOUSEHOLD.get(household, household.value),
    }


def password_problem(password: str, email: str | None) -> None:
    problems = check_password(password, email)
    if problems:
        raise InvalidInput(
            " ".join(str(p) for p in problems),
            errors=[field_error("password", p.en, "weak_password") for p in problems],
        )


@dataclass(frozen=True)
class NewPerson:
    display_name: str
    email: str | None = None
    password: str | None = None
    pc4: str | None = None
    birth_year: int | None = None
    household_type: HouseholdType | None = None


async def register_person(
    ctx: Identity,
    tenant: str,
    data: NewPerson,
    *,
    memberships: Iterable[tuple[str, Iterable[Role]]],
    actor: str | None,
    assisted: bool = False,
    login_code_by: str | None = None,
) -> tuple[Person, str | None]:
    """Create a person with memberships; returns the person and, for assisted registration,
    the plain one-time login code (to print once; only its HMAC is stored)."""
    db = await ctx.tenant_db(tenant)
    email = None if data.email is None else normalise_email(data.email)
    if data.password is not None:
        password_problem(data.password, email)
    grants = [(org, frozenset(roles)) for org, roles in memberships]
    for org, _ in grants:
        await require_organisation(db, org)
    table = await repo.get_neighbourhoods(db)
    now = ctx.now()
    person = new_person(
        person_id=new_event_id(),
        tenant=tenant,
        display_name=data.display_name,
        now=now,
        table=table,
        email=email,
        pc4=data.pc4,
        birth_year=data.birth_year,
        household_type=data.household_type,
    )
    if data.password is not None:
        person = person.model_copy(update={"password_hash": await ctx.hash_password(data.password)})
    members = [
        Membership(person_id=person.id, tenant=tenant, organisation=org, roles=roles)
        for org, roles in grants
    ]
    code: str | None = None
    code_record: LoginCode | None = None
    if login_code_by is not None:
        code, code_record = issue_login_code(
            person_id=person.id,
            tenant=tenant,
            created_by=login_code_by,
            now=now,
            pepper=ctx.pepper,
            source=ctx.random,
        )
    is_resident = all(Role.RESIDENT in m.roles for m in members) or not members

    async def work(db: Db, session: Any) -> tuple[Person, list[Envelope[Any]]]:
        await repo.insert_person(db, person, session=session)
        for membership in members:
            await repo.save_membership(db, membership, session=session)
        if code_record is not None:
            await repo.insert_login_code(db, code_record, session=session)
        events: list[Envelope[Any]] = [
            new_event(
                PersonRegistered(
                    person_id=person.id,
                    kind="resident" if is_resident else "staff",
                    assisted=assisted,
                    **coarse_profile(person, now.year),
                ),
                tenant=tenant,
                subject=person.id,
                actor=actor or person.id,
            )
        ]
        events += [_membership_event(m, actor or person.id) for m in members]
        return person, events

    try:
        created = await ctx.runtime.commit(tenant, work)
    except Exception as error:
        if is_duplicate_key(error):
            raise conflict(EMAIL_TAKEN) from error
        raise
    return created, code


def _membership_event(m: Membership, actor: str) -> Envelope[Any]:
    return new_event(
        MembershipChanged(
            person_id=m.person_id,
            organisation_slug=m.organisation,
            roles=sorted(r.value for r in m.roles),
        ),
        tenant=m.tenant,
        subject=m.person_id,
        actor=actor,
        organisation=m.organisation,
    )


# ---- staff views of people ---------------------------------------------------------------------


def may_manage(principal: Principal, organisation: str) -> bool:
    return principal.has_role(Role.TENANT_ADMIN) or Role.ORG_ADMIN in principal.roles_in(
        organisation
    )


def may_grant(principal: Principal, roles: Iterable[Role]) -> bool:
    """Only a tenant admin hands out tenant-wide roles; platform_operator never via this API."""
    wanted = set(roles)
    if Role.PLATFORM_OPERATOR in wanted:
        return False
    if wanted & {Role.TENANT_ADMIN, Role.NEIGHBOURHOOD_MANAGER}:
        return principal.has_role(Role.TENANT_ADMIN)
    return True


async def visible_person(ctx: Identity, principal: Principal, person_id: str) -> Person:
    """A person the caller may see: tenant admins see everyone in their tenant, org admins
    only members of their organisations. Anything else is 404 (existence is not revealed)."""
    db = await ctx.tenant_db(principal.tenant)
    person = await repo.get_person(db, person_id)
    if person is None:
        raise NotFound(NOT_FOUND)
    if principal.has_role(Role.TENANT_ADMIN):
        return person
    orgs = {m.organisation for m in await repo.memberships_of(db, person_id)}
    if not any(Role.ORG_ADMIN in principal.roles_in(o) for o in orgs):
        raise NotFound(NOT_FOUND)
    return person


async def read_person_logged(
    ctx: Identity, principal: Principal, person_id: str
) -> tuple[Person, list[Membership]]:
    """Staff read of a person (NEN 7513): the access is recorded and sent to the projection."""
    person = await visible_person(ctx, principal, person_id)
    db = await ctx.tenant_db(principal.tenant)
    if principal.person_id != person_id:
        await record_access(
            db,
            service="identity",
            principal=principal,
            resident=person_id,
            action="read",
            resource=f"person/{person_id}",
            reason="administration",
        )
        ctx.runtime.notify_relay()
    return person, await repo.memberships_of(db, person_id)


async def set_membership(
    ctx: Identity,
    principal: Principal,
    person_id: str,
    organisation: str,
    roles: list[Role],
    team: str | None = None,
) -> Membership | None:
    """Replace the person's roles in one organisation; an empty list removes the membership."""
    if not may_manage(principal, organisation):
        raise Forbidden(
            "U mag deze organisatie niet beheren. / You may not manage this organisation."
        )
    if not may_grant(principal, roles):
        raise Forbidden("U mag deze rol niet toekennen. / You may not grant this role.")
    db = await ctx.tenant_db(principal.tenant)
    await require_organisation(db, organisation)
    person = await repo.get_person(db, person_id)
    if person is None or not person.is_active:
        raise NotFound(NOT_FOUND)
    if team is not None and await repo.get_team(db, organisation, team) is None:
        raise InvalidInput(
            "Onbekend team. / Unknown team.", errors=[field_error("team", "unknown")]
        )
    membership = (
        Membership(
            person_id=person_id,
            tenant=principal.tenant,
            organisation=organisation,
            roles=frozenset(roles),
            team=team,
        )
        if roles
        else None
    )

    async def work(db: Db, session: Any) -> tuple[Membership | None, list[Envelope[Any]]]:
        if membership is None:
            await repo.delete_membership(db, person_id, organisation, session=session)
        else:
            await repo.save_membership(db, membership, session=session)
        event = new_event(
            MembershipChanged(
                person_id=person_id,
                organisation_slug=organisation,
                roles=sorted(r.value for r in roles),
            ),
            tenant=principal.tenant,
            subject=person_id,
            actor=principal.subject,
            organisation=organisation,
        )
        return membership, [event]

    return await ctx.runtime.commit(principal.tenant, work)


async def new_login_code(ctx: Identity, principal: Principal, person_id: str) -> tuple[str, Any]:
    """A fresh printed code for an assisted resident (professional of one of their orgs)."""
    db = await ctx.tenant_db(principal.tenant)
    person = await repo.get_person(db, person_id)
    orgs = {m.organisation for m in await repo.memberships_of(db, person_id)} if person else set()
    if (
        person is None
        or not person.is_active
        or not any(principal.roles_in(o) & {Role.PROFESSIONAL, Role.ORG_ADMIN} for o in orgs)
    ):
        raise NotFound(NOT_FOUND)
    code, record = issue_login_code(
        person_id=person_id,
        tenant=principal.tenant,
        created_by=principal.subject,
        now=ctx.now(),
        pepper=ctx.pepper,
        source=ctx.random,
    )
    await repo.insert_login_code(db, record, session=None)
    return code, record.expires_at


# ---- self-service --------------------------------------------------------------------------------


async def me(ctx: Identity, principal: Principal) -> tuple[Person, list[Membership], Any]:
    if principal.person_id is None:
        raise NotFound(NOT_FOUND)
    db = await ctx.tenant_db(principal.tenant)
    person = await repo.get_person(db, principal.person_id)
    if person is None or not person.is_active:
        raise NotFound(NOT_FOUND)
    raw = await db.people.find_one({"_id": person.id}, projection={"erasure_requested_at": 1})
    pending = restore_datetimes(raw or {}).get("erasure_requested_at")
    return person, await repo.memberships_of(db, person.id), pending


_UNSET: Any = object()


async def update_profile(ctx: Identity, principal: Principal, *, changes: dict[str, Any]) -> Person:
    """PATCH semantics: only the given fields change; `person_profile_updated` is published
    only when the coarse profile (PC4/neighbourhood, age band, household) changed."""
    person, _, _ = await me(ctx, principal)
    db = await ctx.tenant_db(principal.tenant)
    now = ctx.now()
    updated = person
    if "pc4" in changes:
        updated = updated.with_pc4(changes["pc4"], await repo.get_neighbourhoods(db))
    rest = {
        k: v for k, v in changes.items() if k in ("birth_year", "household_type", "display_name")
    }
    if rest.get("birth_year") is not None and rest["birth_year"] > now.year:
        raise InvalidInput(
            "Ongeldig geboortejaar. / Invalid birth year.",
            errors=[field_error("birth_year", "in the future")],
        )
    if "display_name" in rest and not (rest["display_name"] or "").strip():
        raise InvalidInput(
            "Vul een naam in. / Enter a name.", errors=[field_error("display_name", "empty")]
        )
    updated = Person.model_validate({**updated.model_dump(), **rest})
    before, after = coarse_profile(person, now.year), coarse_profile(updated, now.year)

    async def work(db: Db, session: Any) -> tuple[Person, list[Envelope[Any]]]:
        await repo.save_person(db, updated, session=session)
        events: list[Envelope[Any]] = []
        if before != after:
            events.append(
                new_event(
                    PersonProfileUpdated(person_id=person.id, **after),
                    tenant=principal.tenant,
                    subject=person.id,
                    actor=principal.subject,
                )
            )
        return updated, events

    return await ctx.runtime.commit(principal.tenant, work)


async def change_password(
    ctx: Identity, person: Person, new_password: str, *, session: Any = None
) -> None:
    password_problem(new_password, person.email)
    db = await ctx.tenant_db(person.tenant)
    hashed = await ctx.hash_password(new_password)
    await db.people.update_one(
        {"_id": person.id}, {"$set": {"password_hash": hashed}}, session=session
    )


async def request_erasure(ctx: Identity, principal: Principal) -> Any:
    """Marks the person erasure-pending and publishes `person_erasure_requested`; every
    service erases its data on that event. Consents are revoked at once."""
    from identity.service import erasure
    from identity.service.consents import revoke_all_events

    person, _, pending = await me(ctx, principal)
    if pending is not None:
        raise conflict(ERASURE_PENDING, erasure_requested_at=pending.isoformat())
    now = ctx.now()

    async def work(db: Db, session: Any) -> tuple[Any, list[Envelope[Any]]]:
        result = await db.people.update_one(
            {"_id": person.id, "erasure_requested_at": None},
            {"$set": {"erasure_requested_at": now}},
            session=session,
        )
        if not result.modified_count:
            raise conflict(ERASURE_PENDING)
        events = await revoke_all_events(db, principal, person.id, now, session=session)
        events.append(
            new_event(
                PersonErasureRequested(person_id=person.id),
                tenant=principal.tenant,
                subject=person.id,
                actor=principal.subject,
            )
        )
        _, completed = await erasure.start(ctx, db, person, at=now, session=session)
        return now, events + completed

    return await ctx.runtime.commit(principal.tenant, work)
