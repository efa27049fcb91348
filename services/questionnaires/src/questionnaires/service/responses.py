"""Response use cases: start (own, assisted, anonymous, invited), save partially, submit, and
the lists of own and shared responses.

A submit stores the frozen response with its scores and stages `response_submitted` (and the
invitation's new status) in one transaction, shared with concurrent submits of the tenant
(group commit, service/submissions.py); the conditional update on `status: in_progress`
makes a second submit a 409 even when two arrive at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, Forbidden, InvalidInput, field_error
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.idempotency import fingerprint
from wijkkracht_common.outbox import prepare

from questionnaires.adapters.repositories import Repositories
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.errors import InvalidResponse, LifecycleError, ResponseAlreadySubmitted
from questionnaires.domain.i18n import Language
from questionnaires.domain.invitation import Invitation
from questionnaires.domain.response import Response
from questionnaires.domain.response_record import ResponseRecord, SubmitKey, earlier_of
from questionnaires.presentation import labels as L
from questionnaires.service import access, instruments, invitations, tenant_registry
from questionnaires.service.access import Viewer
from questionnaires.service.context import Context
from questionnaires.service.problems import already_submitted, answer_errors, not_found
from questionnaires.service.staff_access import StaffAccess
from questionnaires.service.submissions import PendingSubmit
from questionnaires.service.tokens import new_token

MAX_ID_LENGTH = 64
RESPONSE = "Vragenlijst-antwoord"


async def start(
    ctx: Context,
    tenant: str,
    *,
    instrument_id: str,
    version: int | None,
    language: Language | None,
    person_id: str | None,
    actor: str | None,
    assisted_by: str | None = None,
    organisation: str | None = None,
    invitation: Invitation | None = None,
    params: Mapping[str, str] | None = None,
    anonymous: bool = False,
    staff: Principal | None = None,
) -> tuple[ResponseRecord, str | None]:
    """A new in-progress response on the latest published version (or `version`); returns
    it and, for anonymous responses, the resume token. `staff`: who starts it with the
    resident (assisted mode), access-logged in the same transaction."""
    instrument = await instruments.load(ctx, tenant, instrument_id, version, None)
    if instrument.status != "published":
        raise Conflict(
            "Deze versie is niet (meer) gepubliceerd. / This version is not published.",
            kind="instrument-not-published",
        )
    definition = instrument.definition
    params = dict(params or {})
    missing = sorted(set(definition.parameters) - params.keys())
    if missing:
        raise InvalidInput(
            "Deze vragenlijst heeft nog gegevens nodig. / This questionnaire needs parameters.",
            errors=[field_error(f"params.{m}", "required", "missing") for m in missing],
        )
    if language is not None and language not in definition.languages:
        raise InvalidInput(
            "Deze taal is niet beschikbaar. / This language is not available.",
            errors=[field_error("language", "not offered by this instrument")],
        )
    now = ctx.now()
    try:
        response = Response.start(
            response_id=new_event_id(),
            definition=definition,
            subject_id=person_id,
            language=language or definition.default_language,
            now=now,
            assisted_by=assisted_by,
        )
    except LifecycleError as error:
        raise Conflict(str(error), kind="instrument-not-published") from error
    token, token_hash = new_token() if anonymous else (None, None)
    record = ResponseRecord(
        response=response,
        purpose=instrument.purpose,
        organisation=organisation,
        invitation_id=invitation.id if invitation else None,
        trajectory_id=invitation.followup_of if invitation else None,
        params={k: params[k] for k in definition.parameters},
        resume_hash=token_hash,
        started_by=actor,
    )

    async def work(repos: Repositories) -> tuple[ResponseRecord, list[Envelope[Any]]]:
        await repos.responses.add(record)
        if invitation is not None:
            await repos.invitations.mark_started(invitation.id, response.id, now)
        if staff is not None and person_id is not None and assisted_by is not None:
            await assisted(staff, record, "create").record(repos)
        return record, []

    return await ctx.commit(tenant, work), token


def assisted(staff: Principal, record: ResponseRecord, action: str) -> StaffAccess:
    """A staff member filling in a resident's response with them, on behalf of the
    organisation they assist for."""
    assert record.person_id is not None
    return StaffAccess(
        staff,
        resident=record.person_id,
        action=action,
        resource=f"response/{record.id}",
        reason="assisted",
        on_behalf_of=record.organisation,
    )


def _assisting(principal: Principal, record: ResponseRecord) -> Principal | None:
    """The caller, when they change a resident's response as the assisting staff member."""
    helping = access.is_assisting(principal, record) and record.person_id != principal.person_id
    return principal if helping and record.person_id is not None else None


@dataclass(frozen=True, slots=True)
class Start:
    """A start by a logged-in person, authorised: for whom, assisted by whom, for which
    organisation, from which invitation."""

    principal: Principal
    instrument_id: str
    version: int | None
    person_id: str
    assisted_by: str | None = None
    organisation: str | None = None
    invitation: Invitation | None = None


async def authorise_start(
    ctx: Context,
    principal: Principal,
    *,
    instrument_id: str,
    version: int | None,
    person_id: str | None,
    organisation: str | None,
    invitation_id: str | None,
) -> Start:
    """For yourself; for a resident in assisted mode (`person_id` + `organisation`, staff
    there); from an invitation to you (or, assisted, to the resident)."""
    if principal.person_id is None:
        raise Forbidden("Een persoon moet zijn aangemeld. / A person must be logged in.")
    start_for = Start(principal, instrument_id, version, principal.person_id)
    if person_id is not None and person_id != principal.person_id:
        start_for = Start(
            principal,
            instrument_id,
            version,
            person_id,
            assisted_by=principal.subject,
            organisation=access.assisting_organisation(principal, organisation),
        )
    if invitation_id is None:
        return start_for
    invitation = await invitations.load(ctx, principal.tenant, invitation_id)
    if invitation.person_id != start_for.person_id:
        raise not_found("Uitnodiging")
    if invitation.instrument_id != instrument_id:
        raise InvalidInput(
            "De uitnodiging is voor een andere vragenlijst. / The invitation "
            "is for another questionnaire.",
            errors=[field_error("instrument_id", "not the invited one")],
        )
    invitations.ensure_startable(ctx, invitation)
    return Start(
        principal,
        instrument_id,
        version,
        start_for.person_id,
        assisted_by=start_for.assisted_by,
        organisation=start_for.organisation or invitation.organisation,
        invitation=invitation,
    )


async def start_authorised(
    ctx: Context,
    authorised: Start,
    *,
    language: Language | None,
    params: Mapping[str, str],
) -> ResponseRecord:
    record, _ = await start(
        ctx,
        authorised.principal.tenant,
        instrument_id=authorised.instrument_id,
        version=authorised.version,
        language=language,
        person_id=authorised.person_id,
        actor=authorised.principal.subject,
        assisted_by=authorised.assisted_by,
        organisation=authorised.organisation,
        invitation=authorised.invitation,
        params=params,
        staff=authorised.principal if authorised.assisted_by is not None else None,
    )
    return record


async def start_from_link(ctx: Context, tenant: str, token: str) -> tuple[ResponseRecord, str]:
    """Start the invited questionnaire without an account (anonymous, linked to the
    invitation); returns the response and its resume token."""
    await tenant_registry.require_known(ctx, tenant)
    invitation = await invitations.by_link_token(ctx, tenant, token)
    invitations.ensure_startable(ctx, invitation)
    record, resume = await start(
        ctx,
        tenant,
        instrument_id=invitation.instrument_id,
        version=None,
        language=invitation.language,
        person_id=None,
        actor=None,
        organisation=invitation.organisation,
        invitation=invitation,
        anonymous=True,
    )
    assert resume is not None
    return record, resume


async def save(
    ctx: Context,
    tenant: str,
    record: ResponseRecord,
    answers: Mapping[str, ItemAnswer],
    *,
    assisted_by: str | None = None,
    staff: Principal | None = None,
) -> ResponseRecord:
    """`staff`: the assisting staff member, whose change is access-logged with it."""
    current = record.response
    definition = await instruments.definition(ctx, tenant, current.instrument_id, current.version)
    try:
        changed = current.save_answers(
            definition, dict(answers), ctx.now(), assisted_by=assisted_by
        )
    except ResponseAlreadySubmitted as error:
        raise already_submitted() from error
    except InvalidResponse as error:
        raise answer_errors(error.errors) from error
    saved = record.with_response(changed)

    async def work(repos: Repositories) -> tuple[ResponseRecord, list[Envelope[Any]]]:
        if not await repos.responses.save_in_progress(saved):
            raise already_submitted()
        if staff is not None:
            await assisted(staff, saved, "update").record(repos)
        return saved, []

    return await ctx.commit(tenant, work)


async def save_as(
    ctx: Context, principal: Principal, response_id: str, answers: Mapping[str, ItemAnswer]
) -> ResponseRecord:
    """A partial save by the resident or the assisting staff member (recorded as such)."""
    record = await load_changeable(ctx, principal, response_id)
    assisted_by = principal.subject if access.is_assisting(principal, record) else None
    return await save(
        ctx,
        principal.tenant,
        record,
        answers,
        assisted_by=assisted_by,
        staff=_assisting(principal, record),
    )


def submitted_event(
    record: ResponseRecord, *, tenant: str, actor: str | None
) -> Envelope[ResponseSubmitted]:
    response = record.response
    result = response.result
    assert result is not None and response.submitted_at is not None
    return new_event(
        ResponseSubmitted(
            response_id=response.id,
            person_id=response.subject_id,
            instrument_id=response.instrument_id,
            family=response.family,
            variant=response.variant,
            version=response.version,
            purpose=record.purpose,
            submitted_at=response.submitted_at,
            dimension_scores={
                d.dimension: d.score for d in result.dimension_scores if d.score is not None
            },
            phases=dict(result.phases),
            levels=dict(result.levels),
            skipped_count=result.skipped_count,
            discussable_count=result.discussable_count,
            assisted=response.assisted_by is not None,
            invitation_id=record.invitation_id,
            trajectory_id=record.trajectory_id,
        ),
        tenant=tenant,
        subject=response.id,
        actor=actor,
        organisation=record.organisation,
    )


def submit_key(raw: str | None, scope: str, body: Callable[[], Any]) -> SubmitKey | None:
    """The Idempotency-Key of a submit (kept on the response itself, README); `body()` is
    only evaluated when a key was sent (fingerprinting costs a dump)."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= 200:
        raise InvalidInput(
            "Idempotency-Key moet 1-200 tekens zijn. / Idempotency-Key must be 1-200 characters.",
            errors=[field_error("header.idempotency-key", "length 1-200")],
        )
    return SubmitKey(f"{scope}:{raw}", fingerprint(body()))


def _replay(record: ResponseRecord, key: SubmitKey | None) -> dict[str, Any] | None:
    """The first result if `record` was submitted with `key` (422 if the body differed)."""
    if key is None or record.submit_key is None or record.submit_key.key != key.key:
        return None
    if record.submit_key.fingerprint != key.fingerprint:
        raise InvalidInput(
            "Deze Idempotency-Key hoort bij een ander verzoek. / This Idempotency-Key was "
            "used for a different request.",
            kind="idempotency-key-reused",
        )
    return present(record)


async def submit(
    ctx: Context,
    tenant: str,
    record: ResponseRecord,
    *,
    actor: str | None,
    answers: Mapping[str, ItemAnswer] | None = None,
    now: datetime | None = None,
    key: SubmitKey | None = None,
    staff: Principal | None = None,
) -> tuple[dict[str, Any], bool]:
    """Validate completeness, score, freeze; returns (API representation, replayed).

    `answers` (optional) are saved first, in the same transaction, so a client can send
    everything in one request. The conditional update (`status: in_progress`), the outbox
    record and the invitation's new status go in one transaction, grouped with concurrent
    submits of the tenant (service/submissions.py). With `key`, the key and the body's
    fingerprint are stored on the response in that same update, so a retry with the key finds
    the first result on the record it loads anyway: no extra round trips. `staff`: the
    assisting staff member, whose submit is access-logged in that transaction."""
    replayed = _replay(record, key)
    if replayed is not None:
        return replayed, True
    current = record.response
    if current.is_submitted:
        raise already_submitted()
    definition = await instruments.definition(ctx, tenant, current.instrument_id, current.version)
    now = now or ctx.now()
    try:
        # Final answers are merged and validated in the same pass as the completeness check.
        done = current.submit(definition, now, dict(answers) if answers else None)
    except ResponseAlreadySubmitted as error:
        raise already_submitted() from error
    except InvalidResponse as error:
        raise answer_errors(error.errors) from error
    submitted = record.submitted_with(done, key)
    event: Envelope[Any] = submitted_event(submitted, tenant=tenant, actor=actor)
    reader = await ctx.reader(tenant)
    pending = PendingSubmit(
        submit=reader.responses.render_submit(submitted),
        records=prepare([event]),
        now=now,
        access=assisted(staff, submitted, "update") if staff is not None else None,
    )
    try:
        await ctx.submissions.submit(tenant, pending)
    except Conflict:
        if key is not None:  # a concurrent request with the same key won
            again = _replay(await load(ctx, tenant, record.id), key)
            if again is not None:
                return again, True
        raise
    return present(submitted), False


async def load(ctx: Context, tenant: str, response_id: str) -> ResponseRecord:
    if len(response_id) > MAX_ID_LENGTH:
        raise not_found(RESPONSE)
    found = await (await ctx.reader(tenant)).responses.get(response_id)
    if found is None:
        raise not_found(RESPONSE)
    return found


async def submit_as(
    ctx: Context,
    principal: Principal,
    record: ResponseRecord,
    *,
    answers: Mapping[str, ItemAnswer] | None,
    key: SubmitKey | None,
) -> tuple[dict[str, Any], bool]:
    """A submit by the resident or the assisting staff member (then access-logged)."""
    return await submit(
        ctx,
        principal.tenant,
        record,
        actor=principal.subject,
        answers=answers,
        key=key,
        staff=_assisting(principal, record),
    )


async def load_changeable(ctx: Context, principal: Principal, response_id: str) -> ResponseRecord:
    """A response the caller may answer and submit (else 404: nothing is revealed)."""
    record = await load(ctx, principal.tenant, response_id)
    if not access.may_change(principal, record):
        raise not_found(RESPONSE)
    return record


async def load_readable(
    ctx: Context, principal: Principal, response_id: str
) -> tuple[ResponseRecord, Viewer]:
    """A response the caller may see, and why (else 404: nothing is revealed)."""
    record = await load(ctx, principal.tenant, response_id)
    reader = await ctx.reader(principal.tenant)
    viewer = await access.viewer_of(reader.consents, principal, record)
    if viewer is None:
        raise not_found(RESPONSE)
    return record, viewer


async def own_earlier(
    ctx: Context, principal: Principal, record: ResponseRecord, viewer: Viewer
) -> ResponseRecord | None:
    """The resident's own previous submitted response of the same family (`include=earlier`).
    Only for the resident themself: another viewer's reads are logged one response at a time
    (`/people/{id}/responses`)."""
    if not viewer.is_owner or record.person_id is None:
        raise Forbidden(
            "Alleen de bewoner zelf kan de eerdere meting zo opvragen. / Only the resident "
            "themself can ask for the earlier measurement this way.",
            kind="own-responses-only",
        )
    reader = await ctx.reader(principal.tenant)
    return earlier_of(record, await reader.responses.of_person(record.person_id))


async def load_anonymous(
    ctx: Context, tenant: str, response_id: str, resume_token: str | None
) -> ResponseRecord:
    """An anonymous response of a known tenant, with its resume token (else 404)."""
    await tenant_registry.require_known(ctx, tenant)
    record = await load(ctx, tenant, response_id)
    if not access.may_change_anonymously(record, resume_token):
        raise not_found(RESPONSE)
    return record


async def own_page(
    ctx: Context, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's own responses (oldest first), without answers."""
    found, next_cursor = await (await ctx.reader(principal.tenant)).responses.page_of_person(
        principal.person_id or "-", submitted_only=False, limit=limit, cursor=cursor
    )
    return [present(r, include_answers=False) for r in found], next_cursor


async def shared_page(
    ctx: Context, principal: Principal, person_id: str, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Submitted responses a resident shared (`share_results`) with one of the caller's
    organisations; the read is access-logged."""
    tenant = principal.tenant
    reader = await ctx.reader(tenant)
    organisations = await access.consenting_organisations(
        reader.consents, principal, person_id[:MAX_ID_LENGTH], "share_results"
    )
    if not organisations:
        raise not_found("Gedeelde resultaten")
    found, next_cursor = await reader.responses.page_of_person(
        person_id, submitted_only=True, limit=limit, cursor=cursor
    )

    async def log(repos: Repositories) -> tuple[None, list[Envelope[Any]]]:
        await repos.access_log.record(
            principal,
            resident=person_id,
            action="read",
            resource="responses",
            reason="share_results",
            on_behalf_of=organisations[0],
        )
        return None, []

    await ctx.commit(tenant, log)
    return [present(r, include_answers=False) for r in found], next_cursor


def present(record: ResponseRecord, *, include_answers: bool = True) -> dict[str, Any]:
    """The API representation of a response."""
    response = record.response
    out: dict[str, Any] = {
        "id": response.id,
        "instrument_id": response.instrument_id,
        "version": response.version,
        "family": response.family,
        "variant": response.variant,
        "purpose": record.purpose,
        "status": response.status,
        "language": response.language,
        "person_id": response.subject_id,
        "assisted": response.assisted_by is not None,
        "assisted_by": response.assisted_by,
        "organisation": record.organisation,
        "invitation_id": record.invitation_id,
        "trajectory_id": record.trajectory_id,
        "params": dict(record.params),
        "started_at": response.started_at.isoformat(),
        "updated_at": response.updated_at.isoformat(),
        "submitted_at": response.submitted_at.isoformat() if response.submitted_at else None,
    }
    # One serialisation of the nested models (rather than one call per answer).
    nested = response.model_dump(
        mode="json", include={"result", "answers"} if include_answers else {"result"}
    )
    out["result"] = nested["result"]
    if include_answers:
        out["answers"] = nested["answers"]
    if record.invitation_id is not None:
        share = invitation_share(record)
        if share is not None:
            out["invitation_share"] = share
    return out


def invitation_share(record: ResponseRecord) -> dict[str, Any] | None:
    """The question at the end of an invited response, and the resident's choice (None for a
    response without an inviting organisation)."""
    share = record.inviter_share
    organisation = share.organisation if share is not None else record.organisation
    if organisation is None:
        return None
    return {
        "organisation": organisation,
        "question": L.SHARE_WITH_INVITER.substitute({"organisation": organisation}).model_dump(),
        "options": [
            {"share": True, "label": L.SHARE_YES.model_dump()},
            {"share": False, "label": L.SHARE_NO.model_dump()},
        ],
        "choice": None if share is None else ("shared" if share.shared else "declined"),
        "chosen_at": share.at.isoformat() if share is not None else None,
    }
