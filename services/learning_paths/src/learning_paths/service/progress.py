"""What a professional sees of a resident's learning: only with the resident's
`share_learning_progress` consent for the professional's organisation (404 without, so the
existence of an enrolment is not revealed), every view access-logged on behalf of that
organisation. Answers are shown only for steps the resident shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from wijkkracht_common.auth import Principal
from wijkkracht_common.outbox import Staged

from learning_paths.adapters.repositories import Repository
from learning_paths.domain import access
from learning_paths.domain.answers import Answer
from learning_paths.domain.content import ContentVersion
from learning_paths.domain.enrolment import Enrolment
from learning_paths.service import problems
from learning_paths.service.context import Context

REASON = "share_learning_progress"


@dataclass(frozen=True)
class EnrolmentProgress:
    enrolment: Enrolment
    version: ContentVersion | None
    title: str
    shared_answers: list[Answer]


@dataclass(frozen=True)
class ResidentProgress:
    person_id: str
    organisation: str
    enrolments: list[EnrolmentProgress]


@dataclass(frozen=True)
class AssignmentRow:
    enrolment: Enrolment
    title: str
    progress_visible: bool


async def may_see_progress(
    repo: Repository, principal: Principal, organisation: str, person_id: str
) -> bool:
    return access.is_staff_of(principal, organisation) and await repo.consent_given(
        person_id, organisation
    )


async def _progress_of(repo: Repository, enrolment: Enrolment) -> EnrolmentProgress:
    version = await repo.version(enrolment.content_id, enrolment.version)
    title = version.variant(enrolment.variant).title if version else enrolment.content_id
    shared = [a for a in await repo.answers_of_enrolment(enrolment.id) if a.shared]
    return EnrolmentProgress(enrolment, version, title, shared)


async def resident_progress(
    ctx: Context, principal: Principal, organisation: str, person_id: str
) -> ResidentProgress:
    async def work(repo: Repository) -> tuple[ResidentProgress, list[Staged]]:
        if not await may_see_progress(repo, principal, organisation, person_id):
            raise problems.resident_not_found()
        enrolments = await repo.enrolments_of_person(person_id)
        await repo.record_access(
            principal,
            resident=person_id,
            action="read",
            resource=f"learning-progress/{person_id}",
            reason=REASON,
            on_behalf_of=organisation,
        )
        rows = [await _progress_of(repo, e) for e in enrolments]
        return ResidentProgress(person_id, organisation, rows), []

    return await ctx.commit(principal.tenant, work)


async def enrolment_progress(
    ctx: Context, principal: Principal, organisation: str, enrolment_id: str
) -> EnrolmentProgress:
    async def work(repo: Repository) -> tuple[EnrolmentProgress, list[Staged]]:
        enrolment = await repo.enrolment(enrolment_id)
        if enrolment is None or not await may_see_progress(
            repo, principal, organisation, enrolment.person_id
        ):
            raise problems.enrolment_not_found()
        await repo.record_access(
            principal,
            resident=enrolment.person_id,
            action="read",
            resource=f"enrolment/{enrolment.id}",
            reason=REASON,
            on_behalf_of=organisation,
        )
        return await _progress_of(repo, enrolment), []

    return await ctx.commit(principal.tenant, work)


async def assignments(
    ctx: Context, principal: Principal, organisation: str, *, status: str | None
) -> list[AssignmentRow]:
    """Homework the organisation assigned. The status of a resident's homework is progress:
    shown (and access-logged) only where the resident consents; other rows say only that
    the assignment exists (the professional made it)."""
    if not access.is_staff_of(principal, organisation):
        raise problems.not_found()
    now = ctx.now()

    async def work(repo: Repository) -> tuple[list[AssignmentRow], list[Staged]]:
        rows: list[AssignmentRow] = []
        logged: set[str] = set()
        titles: dict[str, str] = {}
        for enrolment in await repo.enrolments_assigned_by(organisation):
            visible = await repo.consent_given(enrolment.person_id, organisation)
            if status is not None and (not visible or enrolment.display_status(now) != status):
                continue
            if visible and enrolment.person_id not in logged:
                logged.add(enrolment.person_id)
                await repo.record_access(
                    principal,
                    resident=enrolment.person_id,
                    action="read",
                    resource=f"assignments/{organisation}",
                    reason=REASON,
                    on_behalf_of=organisation,
                )
            if enrolment.content_id not in titles:
                content = await repo.content(enrolment.content_id)
                titles[enrolment.content_id] = content.title if content else ""
            rows.append(AssignmentRow(enrolment, titles[enrolment.content_id], visible))
        return rows, []

    return await ctx.commit(principal.tenant, work)
