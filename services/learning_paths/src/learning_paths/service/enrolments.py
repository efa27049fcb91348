"""Enrolment use cases: a resident starts a module on their own (or at the step a placement
suggested, or elsewhere), a professional assigns homework, the resident answers and completes
steps; each change stages its events (ids and facts, no free text) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.learning_paths import (
    AssignmentCreated,
    EnrolmentOrigin,
    ModuleCompleted,
    ModuleStarted,
    StepCompleted,
)
from wijkkracht_common.outbox import Staged
from wijkkracht_common.texts import Text

from learning_paths.adapters.repositories import PersonEnrolments, Repository
from learning_paths.domain import access
from learning_paths.domain import answers as answer_rules
from learning_paths.domain import enrolment as rules
from learning_paths.domain.answers import Answer, AnswerInput, answer_id
from learning_paths.domain.content import Content, ContentVersion
from learning_paths.domain.enrolment import Assignment, Enrolment, NewEnrolment
from learning_paths.domain.errors import InvalidContent, RuleBroken
from learning_paths.domain.placement import Choice, placement_id
from learning_paths.domain.xapi.progress import ATTEMPTED, COMPLETED, progress_statement
from learning_paths.service import problems
from learning_paths.service.content import load_readable
from learning_paths.service.context import Context


@dataclass(frozen=True)
class EnrolmentView:
    enrolment: Enrolment
    version: ContentVersion
    answers: dict[str, Answer]


def started_event(enrolment: Enrolment, *, tenant: str, actor: str) -> Envelope[Any]:
    assert enrolment.started_at is not None
    return new_event(
        ModuleStarted(
            enrolment_id=enrolment.id,
            person_id=enrolment.person_id,
            module_id=enrolment.content_id,
            kind=enrolment.kind,
            version=enrolment.version,
            theme=enrolment.theme,
            origin=enrolment.origin,
            organisation=enrolment.organisation,
            entry_step=enrolment.entry_step,
            started_at=enrolment.started_at,
        ),
        tenant=tenant,
        subject=enrolment.id,
        actor=actor,
        organisation=enrolment.organisation,
    )


def assignment_event(enrolment: Enrolment, *, tenant: str, actor: str) -> Envelope[Any]:
    assignment = enrolment.assignment
    assert assignment is not None
    return new_event(
        AssignmentCreated(
            enrolment_id=enrolment.id,
            person_id=enrolment.person_id,
            module_id=enrolment.content_id,
            kind=enrolment.kind,
            version=enrolment.version,
            organisation=assignment.organisation,
            assigned_by=assignment.assigned_by,
            due_at=assignment.due_at,
            cohort_id=enrolment.cohort_id,
            assigned_at=assignment.assigned_at,
        ),
        tenant=tenant,
        subject=enrolment.id,
        actor=actor,
        organisation=assignment.organisation,
    )


def step_events(
    outcome: rules.StepOutcome, step_id: str, step_kind: str, *, tenant: str, actor: str
) -> list[Staged]:
    enrolment = outcome.enrolment
    events: list[Staged] = []
    if outcome.started:
        events.append(started_event(enrolment, tenant=tenant, actor=actor))
    if outcome.newly_completed:
        progress = enrolment.progress_of(step_id)
        assert progress is not None
        events.append(
            new_event(
                StepCompleted(
                    enrolment_id=enrolment.id,
                    person_id=enrolment.person_id,
                    module_id=enrolment.content_id,
                    version=enrolment.version,
                    step_id=step_id,
                    step_kind=step_kind,
                    score=progress.score,
                    completed_at=progress.completed_at,
                ),
                tenant=tenant,
                subject=enrolment.id,
                actor=actor,
                organisation=enrolment.organisation,
            )
        )
    if outcome.module_completed:
        assert enrolment.completed_at is not None and enrolment.started_at is not None
        events.append(
            new_event(
                ModuleCompleted(
                    enrolment_id=enrolment.id,
                    person_id=enrolment.person_id,
                    module_id=enrolment.content_id,
                    kind=enrolment.kind,
                    version=enrolment.version,
                    theme=enrolment.theme,
                    dimensions=list(enrolment.dimensions),
                    origin=enrolment.origin,
                    organisation=enrolment.organisation,
                    started_at=enrolment.started_at,
                    completed_at=enrolment.completed_at,
                ),
                tenant=tenant,
                subject=enrolment.id,
                actor=actor,
                organisation=enrolment.organisation,
            )
        )
    return events


def progress_statements(
    ctx: Context, events: Sequence[Staged], enrolment: Enrolment, version: ContentVersion
) -> list[dict[str, Any]]:
    """The learning events of one change as xAPI statements (see domain/xapi/progress.py)."""
    made = []
    for event in events:
        if not isinstance(event, Envelope):
            continue
        data = event.data
        common: dict[str, Any] = {
            "event_id": event.id,
            "home_page": ctx.settings.issuer,
            "base_url": ctx.settings.public_url,
            "person_id": enrolment.person_id,
            "enrolment_id": enrolment.id,
            "version": version,
            "kind": enrolment.kind,
        }
        if isinstance(data, ModuleStarted):
            made.append(progress_statement(**common, verb=ATTEMPTED, at=data.started_at))
        elif isinstance(data, StepCompleted):
            made.append(
                progress_statement(
                    **common,
                    verb=COMPLETED,
                    at=data.completed_at,
                    step_id=data.step_id,
                    score=data.score,
                    completed=True,
                )
            )
        elif isinstance(data, ModuleCompleted):
            made.append(
                progress_statement(**common, verb=COMPLETED, at=data.completed_at, completed=True)
            )
    return made


async def _record(
    ctx: Context,
    repo: Repository,
    events: Sequence[Staged],
    enrolment: Enrolment,
    version: ContentVersion,
) -> None:
    statements = progress_statements(ctx, events, enrolment, version)
    await repo.record_statements(statements, home_page=ctx.settings.issuer)


def _person(principal: Principal) -> str:
    if principal.person_id is None:  # a machine client follows no modules
        raise problems.enrolment_not_found()
    return principal.person_id


async def _published(repo: Repository, content: Content) -> ContentVersion:
    if content.published_version is None:
        raise problems.module_not_found()
    version = await repo.version(content.id, content.published_version)
    if version is None:
        raise problems.module_not_found()
    return version


def _guard(error: RuleBroken) -> Exception:
    return problems.rule_broken(error)


async def start_own(
    ctx: Context,
    principal: Principal,
    content_id: str,
    *,
    variant: str = "nl",
    entry_step: str | None = None,
) -> Enrolment:
    """The resident starts a published module or path on their own. On a path with a
    placement the suggested step is the default; choosing another is recorded. An enrolment
    still open on the same content is returned rather than doubled."""
    person = _person(principal)
    now = ctx.now()
    tenant = principal.tenant

    async def work(repo: Repository) -> tuple[Enrolment, list[Staged]]:
        content = await load_readable(repo, principal, content_id)
        if not access.may_read_published(principal, content):
            raise problems.module_not_found()
        version = await _published(repo, content)
        for existing in await repo.enrolments_of_person(person):
            if existing.content_id == content.id and existing.status != "completed":
                if existing.status == "not_started":
                    opened, _ = rules.start(existing, now)
                    await repo.save_enrolment(opened)
                    events: list[Staged] = [started_event(opened, tenant=tenant, actor=person)]
                    await _record(ctx, repo, events, opened, version)
                    return opened, events
                return existing, []
        placement = (
            await repo.placement(placement_id(person, content.id))
            if content.kind == "path"
            else None
        )
        origin: EnrolmentOrigin = "self"
        entry = entry_step
        if placement is not None:
            origin = "placement"
            entry = entry or placement.effective_step
        try:
            enrolment = rules.enrol(
                version,
                NewEnrolment(
                    id=new_event_id(),
                    person_id=person,
                    kind=content.kind,
                    theme=content.theme,
                    dimensions=content.dimensions,
                    origin=origin,
                    variant=variant,
                    now=now,
                    entry_step=entry,
                    placement_id=placement.id if placement else None,
                ),
            )
        except RuleBroken as error:
            raise _guard(error) from None
        if placement is not None:
            elsewhere = enrolment.entry_step != placement.effective_step
            choices = placement.choices
            if elsewhere:
                choices = (
                    *choices,
                    Choice(by=person, role="resident", entry_step=enrolment.entry_step, at=now),
                )
            await repo.save_placement(
                placement.model_copy(
                    update={
                        "status": "started_elsewhere"
                        if elsewhere
                        else ("overridden" if placement.status == "overridden" else "started"),
                        "enrolment_id": enrolment.id,
                        "choices": choices,
                    }
                )
            )
        await repo.save_enrolment(enrolment)
        started: list[Staged] = [started_event(enrolment, tenant=tenant, actor=person)]
        await _record(ctx, repo, started, enrolment, version)
        return enrolment, started

    return await ctx.commit(tenant, work)


async def assign(
    ctx: Context,
    principal: Principal,
    *,
    organisation: str,
    person_id: str,
    content_id: str,
    due_at: datetime | None,
    note: str,
    variant: str = "nl",
    cohort_id: str | None = None,
) -> Enrolment:
    """A professional assigns a module as homework on behalf of their organisation. The
    module must be one the organisation may use; the assignment is access-logged."""
    if not access.is_staff_of(principal, organisation):
        raise problems.forbidden(
            Text(
                "Alleen professionals van deze organisatie geven huiswerk.",
                "Only professionals of this organisation assign homework.",
            ),
            roles=list(access.STAFF_ROLES),
        )
    now = ctx.now()
    tenant = principal.tenant

    async def work(repo: Repository) -> tuple[Enrolment, list[Staged]]:
        content = await repo.content(content_id)
        if content is None or not content.is_published:
            raise problems.module_not_found()
        if content.scope == "organisation" and content.organisation != organisation:
            raise problems.module_not_found()
        version = await _published(repo, content)
        try:
            enrolment = rules.enrol(
                version,
                NewEnrolment(
                    id=new_event_id(),
                    person_id=person_id,
                    kind=content.kind,
                    theme=content.theme,
                    dimensions=content.dimensions,
                    origin="cohort" if cohort_id else "assignment",
                    variant=variant,
                    now=now,
                    assignment=Assignment(
                        organisation=organisation,
                        assigned_by=principal.subject,
                        assigned_at=now,
                        due_at=due_at,
                        note=note,
                    ),
                    cohort_id=cohort_id,
                ),
            )
        except RuleBroken as error:
            raise _guard(error) from None
        await repo.save_enrolment(enrolment)
        await repo.record_access(
            principal,
            resident=person_id,
            action="create",
            resource=f"enrolment/{enrolment.id}",
            reason="assignment",
            on_behalf_of=organisation,
        )
        return enrolment, [assignment_event(enrolment, tenant=tenant, actor=principal.subject)]

    return await ctx.commit(tenant, work)


async def _own(repo: Repository, principal: Principal, enrolment_id: str) -> Enrolment:
    enrolment = await repo.enrolment(enrolment_id)
    if enrolment is None or enrolment.person_id != principal.person_id:
        raise problems.enrolment_not_found()
    return enrolment


async def view(ctx: Context, principal: Principal, enrolment_id: str) -> EnrolmentView:
    """The resident's own enrolment with its version and their answers."""
    repo = await ctx.reader(principal.tenant)
    enrolment = await _own(repo, principal, enrolment_id)
    version = await repo.version(enrolment.content_id, enrolment.version)
    if version is None:
        raise problems.enrolment_not_found()
    answers = {a.step_id: a for a in await repo.answers_of_enrolment(enrolment.id)}
    return EnrolmentView(enrolment, version, answers)


async def mine(
    ctx: Context, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[Enrolment], str | None]:
    repo = await ctx.reader(principal.tenant)
    return await repo.enrolment_page(
        PersonEnrolments(_person(principal)), limit=limit, cursor=cursor
    )


async def open_(ctx: Context, principal: Principal, enrolment_id: str) -> Enrolment:
    """The resident opens assigned homework: it is in progress from now."""
    now = ctx.now()

    async def work(repo: Repository) -> tuple[Enrolment, list[Staged]]:
        enrolment = await _own(repo, principal, enrolment_id)
        opened, started = rules.start(enrolment, now)
        if not started:
            return enrolment, []
        await repo.save_enrolment(opened)
        events: list[Staged] = [
            started_event(opened, tenant=principal.tenant, actor=opened.person_id)
        ]
        version = await repo.version(opened.content_id, opened.version)
        if version is not None:
            await _record(ctx, repo, events, opened, version)
        return opened, events

    return await ctx.commit(principal.tenant, work)


async def save_answer(
    ctx: Context, principal: Principal, enrolment_id: str, step_id: str, given: AnswerInput
) -> Answer:
    """Save (part of) an answer; the first answer opens assigned homework."""
    now = ctx.now()

    async def work(repo: Repository) -> tuple[Answer, list[Staged]]:
        enrolment = await _own(repo, principal, enrolment_id)
        version = await repo.version(enrolment.content_id, enrolment.version)
        assert version is not None
        try:
            step = rules.step_of(version, enrolment.variant, step_id)
        except RuleBroken:
            raise problems.not_found(Text("Stap niet gevonden.", "Step not found.")) from None
        key = answer_id(enrolment.id, step.id)
        answer = answer_rules.record(
            await repo.answer(key),
            answer_id_=key,
            enrolment_id=enrolment.id,
            person_id=enrolment.person_id,
            step=step,
            given=given,
            now=now,
        )
        await repo.save_answer(answer)
        opened, started = rules.start(enrolment, now)
        events: list[Staged] = []
        if started:
            events.append(started_event(opened, tenant=principal.tenant, actor=opened.person_id))
            await _record(ctx, repo, events, opened, version)
        await repo.save_enrolment(opened.model_copy(update={"last_activity_at": now}))
        return answer, events

    return await ctx.commit(principal.tenant, work)


async def complete_step(
    ctx: Context, principal: Principal, enrolment_id: str, step_id: str
) -> Enrolment:
    """Complete a step (an exercise needs the resident's answer, a quiz its pass score);
    the module completes with its last required step."""
    now = ctx.now()

    async def work(repo: Repository) -> tuple[Enrolment, list[Staged]]:
        enrolment = await _own(repo, principal, enrolment_id)
        version = await repo.version(enrolment.content_id, enrolment.version)
        assert version is not None
        try:
            step = rules.step_of(version, enrolment.variant, step_id)
        except RuleBroken:
            raise problems.not_found(Text("Stap niet gevonden.", "Step not found.")) from None
        answer = await repo.answer(answer_id(enrolment.id, step.id))
        blocked = answer_rules.ready_to_complete(step, answer)
        if blocked is not None:
            raise problems.invalid_content(InvalidContent([blocked]))
        outcome = rules.complete_step(
            enrolment, step, now, score=answer.score if answer and step.kind == "quiz" else None
        )
        await repo.save_enrolment(outcome.enrolment)
        events = step_events(
            outcome, step.id, step.kind, tenant=principal.tenant, actor=enrolment.person_id
        )
        await _record(ctx, repo, events, outcome.enrolment, version)
        return outcome.enrolment, events

    return await ctx.commit(principal.tenant, work)


async def share_step(
    ctx: Context, principal: Principal, enrolment_id: str, step_id: str, shared: bool
) -> Answer:
    """The resident shares (or stops sharing) one step's answer with the professionals who
    may see their progress."""
    now = ctx.now()

    async def work(repo: Repository) -> tuple[Answer, list[Staged]]:
        enrolment = await _own(repo, principal, enrolment_id)
        answer = await repo.answer(answer_id(enrolment.id, step_id))
        if answer is None:
            raise problems.not_found(Text("Nog geen antwoord.", "No answer yet."))
        updated = answer.model_copy(update={"shared": shared, "updated_at": now})
        await repo.save_answer(updated)
        return updated, []

    return await ctx.commit(principal.tenant, work)


async def move_to_latest(ctx: Context, principal: Principal, enrolment_id: str) -> Enrolment:
    """Move the resident's enrolment to the newest published version (their choice)."""
    now = ctx.now()

    async def work(repo: Repository) -> tuple[Enrolment, list[Staged]]:
        enrolment = await _own(repo, principal, enrolment_id)
        content = await repo.content(enrolment.content_id)
        if content is None or content.published_version is None:
            raise problems.module_not_found()
        version = await _published(repo, content)
        moved = rules.move_to_version(enrolment, version, now)
        await repo.save_enrolment(moved)
        return moved, []

    return await ctx.commit(principal.tenant, work)
