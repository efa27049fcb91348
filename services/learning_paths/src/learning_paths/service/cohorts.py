"""Cohorts: a professional runs a module as a group course. Members get the module as
homework from the organisation (one assignment each, due at the end of the shared schedule,
access-logged, `assignment_created` with the cohort); the group's progress is shown per
member only where that member consents (`share_learning_progress`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.outbox import Staged
from wijkkracht_common.texts import Text

from learning_paths.adapters.repositories import Repository
from learning_paths.domain import access
from learning_paths.domain import enrolment as rules
from learning_paths.domain.cohorts import (
    Cohort,
    ScheduledStep,
    check_schedule,
    even_schedule,
    with_members,
)
from learning_paths.domain.content import ContentVersion
from learning_paths.domain.enrolment import Assignment, Enrolment, NewEnrolment
from learning_paths.service import problems
from learning_paths.service.context import Context
from learning_paths.service.enrolments import assignment_event


@dataclass(frozen=True)
class MemberProgress:
    person_id: str
    progress_visible: bool
    enrolment: Enrolment | None


def _staff(principal: Principal, organisation: str) -> None:
    if not access.is_staff_of(principal, organisation):
        raise problems.forbidden(
            Text(
                "Alleen professionals van deze organisatie begeleiden groepen.",
                "Only professionals of this organisation run cohorts.",
            ),
            roles=list(access.STAFF_ROLES),
        )


async def _version_for(repo: Repository, organisation: str, content_id: str) -> ContentVersion:
    content = await repo.content(content_id)
    if content is None or content.published_version is None:
        raise problems.module_not_found()
    if content.scope == "organisation" and content.organisation != organisation:
        raise problems.module_not_found()
    version = await repo.version(content.id, content.published_version)
    if version is None:
        raise problems.module_not_found()
    return version


async def _enrol_members(
    repo: Repository,
    principal: Principal,
    cohort: Cohort,
    version: ContentVersion,
    members: Sequence[str],
    ctx: Context,
) -> list[Staged]:
    now = ctx.now()
    events: list[Staged] = []
    for person in members:
        enrolment = rules.enrol(
            version,
            NewEnrolment(
                id=new_event_id(),
                person_id=person,
                kind="module",
                theme=None,
                dimensions=(),
                origin="cohort",
                variant="nl",
                now=now,
                assignment=Assignment(
                    organisation=cohort.organisation,
                    assigned_by=principal.subject,
                    assigned_at=now,
                    due_at=cohort.due_at(),
                ),
                cohort_id=cohort.id,
            ),
        )
        content = await repo.content(version.content_id)
        if content is not None:
            enrolment = enrolment.model_copy(
                update={"theme": content.theme, "dimensions": content.dimensions}
            )
        await repo.save_enrolment(enrolment)
        await repo.record_access(
            principal,
            resident=person,
            action="create",
            resource=f"enrolment/{enrolment.id}",
            reason="cohort",
            on_behalf_of=cohort.organisation,
        )
        events.append(assignment_event(enrolment, tenant=principal.tenant, actor=principal.subject))
    return events


async def create(
    ctx: Context,
    principal: Principal,
    *,
    organisation: str,
    content_id: str,
    title: str,
    start_on: date,
    every_days: int,
    schedule: Sequence[ScheduledStep] | None,
    members: Sequence[str],
) -> Cohort:
    _staff(principal, organisation)

    async def work(repo: Repository) -> tuple[Cohort, list[Staged]]:
        version = await _version_for(repo, organisation, content_id)
        planned = (
            check_schedule(version, start_on, schedule)
            if schedule
            else even_schedule(version, start_on, every_days)
        )
        cohort = with_members(
            Cohort(
                id=new_event_id(),
                organisation=organisation,
                content_id=version.content_id,
                version=version.version,
                title=title,
                start_on=start_on,
                schedule=planned,
                created_by=principal.subject,
                created_at=ctx.now(),
            ),
            members,
        )
        await repo.save_cohort(cohort)
        events = await _enrol_members(repo, principal, cohort, version, cohort.members, ctx)
        return cohort, events

    return await ctx.commit(principal.tenant, work)


async def add_members(
    ctx: Context, principal: Principal, organisation: str, cohort_id: str, members: Sequence[str]
) -> Cohort:
    _staff(principal, organisation)

    async def work(repo: Repository) -> tuple[Cohort, list[Staged]]:
        cohort = await repo.cohort(cohort_id)
        if cohort is None or cohort.organisation != organisation:
            raise problems.not_found(Text("Groep niet gevonden.", "Cohort not found."))
        new = [m for m in dict.fromkeys(members) if m not in cohort.members]
        grown = with_members(cohort, new)
        version = await repo.version(cohort.content_id, cohort.version)
        if version is None:
            raise problems.module_not_found()
        await repo.save_cohort(grown)
        return grown, await _enrol_members(repo, principal, grown, version, new, ctx)

    return await ctx.commit(principal.tenant, work)


async def of_organisation(ctx: Context, principal: Principal, organisation: str) -> list[Cohort]:
    _staff(principal, organisation)
    return await (await ctx.reader(principal.tenant)).cohorts_of_organisation(organisation)


async def progress(
    ctx: Context, principal: Principal, organisation: str, cohort_id: str
) -> tuple[Cohort, list[MemberProgress]]:
    """The group with each member's progress where that member consents (access-logged)."""
    _staff(principal, organisation)

    async def work(repo: Repository) -> tuple[tuple[Cohort, list[MemberProgress]], list[Any]]:
        cohort = await repo.cohort(cohort_id)
        if cohort is None or cohort.organisation != organisation:
            raise problems.not_found(Text("Groep niet gevonden.", "Cohort not found."))
        enrolments = {e.person_id: e for e in await repo.enrolments_of_cohort(cohort.id)}
        rows = []
        for person in cohort.members:
            visible = await repo.consent_given(person, organisation)
            if visible:
                await repo.record_access(
                    principal,
                    resident=person,
                    action="read",
                    resource=f"cohort/{cohort.id}",
                    reason="share_learning_progress",
                    on_behalf_of=organisation,
                )
            rows.append(
                MemberProgress(person, visible, enrolments.get(person) if visible else None)
            )
        return (cohort, rows), []

    return await ctx.commit(principal.tenant, work)
