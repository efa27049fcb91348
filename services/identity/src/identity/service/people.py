"""People: self-registration, assisted registration, staff accounts, memberships, profile.
Events carry ids and the coarse profile only (never names or e-mails). Erasure requests are
in `service.erasure`, consent in `service.consents`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, NotFound, field_error
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.identity import (
    MembershipChanged,
    PersonProfileUpdated,
    PersonRegistered,
)
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session, is_duplicate_key

from identity.domain.emails import normalise_email
from identity.domain.login_codes import LoginCode, issue_login_code
from identity.domain.memberships import Membership
from identity.domain.password_policy import check_password
from identity.domain.people import HouseholdType, Person, new_person
from identity.domain.roles import Role
from identity.domain.texts import Text
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.directory import require_organisation
from identity.service.permissions import (
    acting_organisation,
    may_print_login_code,
    require_grant,
    require_manager,
)
from identity.service.problems import conflict

EMAIL_TAKEN = Text(
    "Er is al een account met dit e-mailadres.", "An account with this e-mail address exists."
)
STAFF_ROLES = frozenset(Role) - {Role.RESIDENT}

# The domain distinguishes "couple without children"; the event vocabulary calls it "couple".
_EVENT_HOUSEHOLD = {HouseholdType.COUPLE_WITHOUT_CHILDREN: "couple"}


class CoarseProfile(TypedDict):
    """What other services may know for grouping (the fields of the people events)."""

    pc4: str | None
    neighbourhood_code: str | None
    age_band: str | None
    household_type: str | None


def coarse_profile(person: Person, year: int) -> CoarseProfile:
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
    fixed_id: str | None = None,
) -> tuple[Person, str | None]:
    """Create a person with memberships; returns the person and, for assisted registration,
    the plain one-time login code (to print once; only its HMAC is stored). `fixed_id`:
    the demo seed only (a demo resident without e-mail other seeds can refer to)."""
    repos = await ctx.tenant(tenant)
    email = None if data.email is None else normalise_email(data.email)
    if data.password is not None:
        password_problem(data.password, email)
    grants = [(org, frozenset(roles)) for org, roles in memberships]
    for org, _ in grants:
        await require_organisation(repos, org)
    table = await repos.neighbourhoods.get()
    now = ctx.now()
    person = new_person(
        person_id=fixed_id or new_event_id(),
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

    async def work(db: Db, session: Session) -> tuple[Person, list[Staged]]:
        within = ctx.within(db, session)
        await within.people.add(person)
        for membership in members:
            await within.memberships.save(membership)
        if code_record is not None:
            await within.login_codes.add(code_record)
        events: list[Staged] = [
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


def _membership_event(m: Membership, actor: str) -> Envelope[MembershipChanged]:
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


async def memberships_of(ctx: Identity, person: Person) -> list[Membership]:
    return await (await ctx.tenant(person.tenant)).memberships.of_person(person.id)


# ---- staff views of people ---------------------------------------------------------------------


async def check_new_memberships(
    ctx: Identity, principal: Principal, grants: Iterable[tuple[str, Iterable[Role]]]
) -> None:
    """Before a staff account is created: each organisation exists and the caller may manage
    it and hand out the roles."""
    repos = await ctx.tenant(principal.tenant)
    for org, roles in grants:
        await require_organisation(repos, org)
        require_manager(principal, org)
        require_grant(principal, roles)


async def visible_person(ctx: Identity, principal: Principal, person_id: str) -> Person:
    """A person the caller may see: tenant admins see everyone in their tenant, org admins
    only members of their organisations. Anything else is 404 (existence is not revealed)."""
    repos = await ctx.tenant(principal.tenant)
    person = await repos.people.get(person_id)
    if person is None:
        raise NotFound(NOT_FOUND)
    if principal.has_role(Role.TENANT_ADMIN):
        return person
    orgs = {m.organisation for m in await repos.memberships.of_person(person_id)}
    if not any(Role.ORG_ADMIN in principal.roles_in(o) for o in orgs):
        raise NotFound(NOT_FOUND)
    return person


async def read_person_logged(
    ctx: Identity, principal: Principal, person_id: str
) -> tuple[Person, list[Membership]]:
    """Staff read of a person (NEN 7513): the access is recorded and sent to the projection."""
    person = await visible_person(ctx, principal, person_id)
    repos = await ctx.tenant(principal.tenant)
    memberships = await repos.memberships.of_person(person_id)
    if principal.person_id != person_id:
        await repos.access_log.record(
            principal,
            resident=person_id,
            action="read",
            resource=f"person/{person_id}",
            reason="administration",
            on_behalf_of=_managing_organisation(principal, memberships),
        )
        ctx.runtime.notify_relay()
    return person, memberships


def _managing_organisation(principal: Principal, memberships: list[Membership]) -> str | None:
    """The organisation a staff read of a person is done for (`on_behalf_of`): one of the
    person's organisations that the caller administers, else the tenant admin's own."""
    for m in sorted(memberships, key=lambda m: m.organisation):
        if Role.ORG_ADMIN in principal.roles_in(m.organisation):
            return m.organisation
    return acting_organisation(principal, Role.TENANT_ADMIN, Role.ORG_ADMIN)


async def list_people(
    ctx: Identity,
    principal: Principal,
    organisation: str | None,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Person, list[Membership]]], str | None]:
    """Tenant admins list everyone (or one organisation); org admins one of their orgs.
    Each listed person is an access to personal data and is logged."""
    repos = await ctx.tenant(principal.tenant)
    if organisation is None:
        if not principal.has_role(Role.TENANT_ADMIN):
            raise InvalidInput(
                "Kies een organisatie. / Choose an organisation.",
                errors=[field_error("query.organisation", "required")],
            )
        ids, next_cursor = await repos.people.page_ids(limit=limit, cursor=cursor)
    else:
        await require_organisation(repos, organisation)
        require_manager(principal, organisation)
        members, next_cursor = await repos.memberships.page_of_organisation(
            organisation, limit=limit, cursor=cursor
        )
        ids = [m.person_id for m in members]
    on_behalf_of = organisation or acting_organisation(principal, Role.TENANT_ADMIN)
    listed: list[tuple[Person, list[Membership]]] = []
    for person_id in ids:
        person = await repos.people.get(person_id)
        if person is None:
            continue
        if principal.person_id != person_id:
            await repos.access_log.record(
                principal,
                resident=person_id,
                action="list",
                resource=f"person/{person_id}",
                reason="administration",
                on_behalf_of=on_behalf_of,
            )
        listed.append((person, await repos.memberships.of_person(person_id)))
    ctx.runtime.notify_relay()
    return listed, next_cursor


async def set_membership(
    ctx: Identity,
    principal: Principal,
    person_id: str,
    organisation: str,
    roles: list[Role],
    team: str | None = None,
) -> Membership | None:
    """Replace the person's roles in one organisation; an empty list removes the membership."""
    require_manager(principal, organisation)
    require_grant(principal, roles)
    repos = await ctx.tenant(principal.tenant)
    await require_organisation(repos, organisation)
    person = await repos.people.get(person_id)
    if person is None or not person.is_active:
        raise NotFound(NOT_FOUND)
    if team is not None and await repos.organisations.get_team(organisation, team) is None:
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

    async def work(db: Db, session: Session) -> tuple[Membership | None, list[Staged]]:
        within = ctx.within(db, session)
        if membership is None:
            await within.memberships.delete(person_id, organisation)
        else:
            await within.memberships.save(membership)
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


async def new_login_code(
    ctx: Identity, principal: Principal, person_id: str
) -> tuple[str, datetime]:
    """A fresh printed code for an assisted resident (professional of one of their orgs)."""
    repos = await ctx.tenant(principal.tenant)
    person = await repos.people.get(person_id)
    orgs = (
        {m.organisation for m in await repos.memberships.of_person(person_id)} if person else set()
    )
    if person is None or not person.is_active or not may_print_login_code(principal, orgs):
        raise NotFound(NOT_FOUND)
    code, record = issue_login_code(
        person_id=person_id,
        tenant=principal.tenant,
        created_by=principal.subject,
        now=ctx.now(),
        pepper=ctx.pepper,
        source=ctx.random,
    )
    await repos.login_codes.add(record)
    return code, record.expires_at


# ---- self-service --------------------------------------------------------------------------------


async def calling_person(ctx: Identity, principal: Principal) -> Person:
    """The calling person (active), without the reads `me` adds."""
    if principal.person_id is None:
        raise NotFound(NOT_FOUND)
    person = await (await ctx.tenant(principal.tenant)).people.get(principal.person_id)
    if person is None or not person.is_active:
        raise NotFound(NOT_FOUND)
    return person


async def me(
    ctx: Identity, principal: Principal
) -> tuple[Person, list[Membership], datetime | None]:
    """The calling person, their memberships and when they asked for erasure (if they did)."""
    person = await calling_person(ctx, principal)
    repos = await ctx.tenant(principal.tenant)
    pending = await repos.people.erasure_requested_at(person.id)
    return person, await repos.memberships.of_person(person.id), pending


async def update_profile(
    ctx: Identity, principal: Principal, *, changes: Mapping[str, Any]
) -> Person:
    """PATCH semantics: only the given fields change; `person_profile_updated` is published
    only when the coarse profile (PC4/neighbourhood, age band, household) changed."""
    person = await calling_person(ctx, principal)
    repos = await ctx.tenant(principal.tenant)
    now = ctx.now()
    updated = person
    if "pc4" in changes:
        updated = updated.with_pc4(changes["pc4"], await repos.neighbourhoods.get())
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

    async def work(db: Db, session: Session) -> tuple[Person, list[Staged]]:
        await ctx.within(db, session).people.save(updated)
        events: list[Staged] = []
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


async def change_password(ctx: Identity, person: Person, new_password: str) -> None:
    password_problem(new_password, person.email)
    hashed = await ctx.hash_password(new_password)
    await (await ctx.tenant(person.tenant)).people.set_password_hash(person.id, hashed)
