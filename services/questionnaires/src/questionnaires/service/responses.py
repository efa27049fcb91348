"""Response use cases: start (own, assisted, anonymous, invited), save partially, submit.

A submit stores the frozen response with its scores and stages `response_submitted` (and the
invitation's new status) in one transaction, shared with concurrent submits of the tenant
(group commit, service/submissions.py); the conditional update on `status: in_progress`
makes a second submit a 409 even when two arrive at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wijkkracht_common.errors import Conflict, InvalidInput, field_error
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.idempotency import fingerprint
from wijkkracht_common.outbox import prepare
from wijkkracht_common.storage import Database, Session

from questionnaires.adapters.documents import (
    INVITATIONS,
    RESPONSES,
    response_doc,
    response_fields,
    response_of,
)
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.errors import InvalidResponse, LifecycleError, ResponseAlreadySubmitted
from questionnaires.domain.i18n import Language
from questionnaires.domain.response import Response
from questionnaires.service import instruments
from questionnaires.service.context import Context, utcnow
from questionnaires.service.problems import already_submitted, answer_errors, not_found
from questionnaires.service.submissions import PendingSubmit


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A random credential and the hash we store (the token itself is never stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def token_matches(token: str | None, stored_hash: str | None) -> bool:
    if not token or not stored_hash or len(token) > 200:
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


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
    invitation: dict[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    anonymous: bool = False,
) -> tuple[dict[str, Any], str | None]:
    """A new in-progress response on the latest published version (or `version`); returns
    the stored document and, for anonymous responses, the resume token."""
    doc = await instruments.load_doc(ctx, tenant, instrument_id, version, None)
    if doc["status"] != "published":
        raise Conflict(
            "Deze versie is niet (meer) gepubliceerd. / This version is not published.",
            kind="instrument-not-published",
        )
    definition = instruments.definition_of(doc)
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
    now = utcnow()
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
    doc_out = response_doc(
        response,
        purpose=doc["purpose"],
        variant=definition.variant,
        organisation=organisation,
        invitation_id=invitation["_id"] if invitation else None,
        trajectory_id=invitation.get("followup_of") if invitation else None,
        params={k: params[k] for k in definition.parameters},
        resume_hash=token_hash,
        started_by=actor,
    )

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[dict[str, Any], list[Envelope[Any]]]:
        await db[RESPONSES].insert_one(doc_out, session=session)
        if invitation is not None:
            await db[INVITATIONS].update_one(
                {"_id": invitation["_id"], "status": {"$in": ["sent", "opened"]}},
                {"$set": {"status": "started", "response_id": response.id, "updated_at": now}},
                session=session,
            )
        return doc_out, []

    return await ctx.commit(tenant, work), token


def _answers(raw: Mapping[str, ItemAnswer]) -> dict[str, ItemAnswer]:
    return dict(raw)


async def save(
    ctx: Context,
    tenant: str,
    doc: dict[str, Any],
    answers: Mapping[str, ItemAnswer],
    *,
    assisted_by: str | None = None,
) -> dict[str, Any]:
    current = response_of(doc)
    definition = await instruments.definition(ctx, tenant, current.instrument_id, current.version)
    try:
        changed = current.save_answers(
            definition, _answers(answers), utcnow(), assisted_by=assisted_by
        )
    except ResponseAlreadySubmitted as error:
        raise already_submitted() from error
    except InvalidResponse as error:
        raise answer_errors(error.errors) from error
    fields = response_fields(changed)

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[dict[str, Any], list[Envelope[Any]]]:
        result = await db[RESPONSES].update_one(
            {"_id": doc["_id"], "status": "in_progress"},
            {"$set": fields},
            session=session,
        )
        if result.matched_count != 1:
            raise already_submitted()
        return {**doc, **fields}, []

    return await ctx.commit(tenant, work)


def submitted_event(
    doc: dict[str, Any], response: Response, *, tenant: str, actor: str | None
) -> Envelope[ResponseSubmitted]:
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
            purpose=doc["purpose"],
            submitted_at=response.submitted_at,
            dimension_scores={
                d.dimension: d.score for d in result.dimension_scores if d.score is not None
            },
            phases=dict(result.phases),
            levels=dict(result.levels),
            skipped_count=result.skipped_count,
            discussable_count=result.discussable_count,
            assisted=response.assisted_by is not None,
            invitation_id=doc.get("invitation_id"),
            trajectory_id=doc.get("trajectory_id"),
        ),
        tenant=tenant,
        subject=response.id,
        actor=actor,
        organisation=doc.get("organisation"),
    )


@dataclass(frozen=True)
class SubmitKey:
    """An Idempotency-Key of a submit, kept on the response document itself (README)."""

    key: str  # "<scope>:<Idempotency-Key>"
    fingerprint: str  # of the request body


def submit_key(raw: str | None, scope: str, body: Callable[[], Any]) -> SubmitKey | None:
    """`body()` is only evaluated when a key was sent (fingerprinting costs a dump)."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= 200:
        raise InvalidInput(
            "Idempotency-Key moet 1-200 tekens zijn. / Idempotency-Key must be 1-200 characters.",
            errors=[field_error("header.idempotency-key", "length 1-200")],
        )
    return SubmitKey(f"{scope}:{raw}", fingerprint(body()))


def _replay(doc: dict[str, Any], key: SubmitKey | None) -> dict[str, Any] | None:
    """The first result if `doc` was submitted with `key` (422 if the body differed)."""
    if key is None or doc.get("submit_key") != key.key:
        return None
    if doc.get("submit_fingerprint") != key.fingerprint:
        raise InvalidInput(
            "Deze Idempotency-Key hoort bij een ander verzoek. / This Idempotency-Key was "
            "used for a different request.",
            kind="idempotency-key-reused",
        )
    return present(doc)


async def submit(
    ctx: Context,
    tenant: str,
    doc: dict[str, Any],
    *,
    actor: str | None,
    answers: Mapping[str, ItemAnswer] | None = None,
    now: datetime | None = None,
    key: SubmitKey | None = None,
) -> tuple[dict[str, Any], bool]:
    """Validate completeness, score, freeze; returns (API representation, replayed).

    `answers` (optional) are saved first, in the same transaction, so a client can send
    everything in one request. The conditional update (`status: in_progress`), the outbox
    record and the invitation's new status go in one transaction, grouped with concurrent
    submits of the tenant (service/submissions.py). With `key`, the key and the body's
    fingerprint are stored on the response in that same update, so a retry with the key finds
    the first result on the document it loads anyway: no extra round trips."""
    replayed = _replay(doc, key)
    if replayed is not None:
        return replayed, True
    current = response_of(doc)
    if current.is_submitted:
        raise already_submitted()
    definition = await instruments.definition(ctx, tenant, current.instrument_id, current.version)
    now = now or utcnow()
    try:
        # Final answers are merged and validated in the same pass as the completeness check.
        done = current.submit(definition, now, _answers(answers) if answers else None)
    except ResponseAlreadySubmitted as error:
        raise already_submitted() from error
    except InvalidResponse as error:
        raise answer_errors(error.errors) from error
    fields = response_fields(done)
    if key is not None:
        fields["submit_key"] = key.key
        fields["submit_fingerprint"] = key.fingerprint
    event: Envelope[Any] = submitted_event(doc, done, tenant=tenant, actor=actor)
    pending = PendingSubmit(
        response_id=doc["_id"],
        fields=fields,
        records=prepare([event]),
        invitation_id=doc.get("invitation_id"),
        now=now,
    )
    try:
        await ctx.submissions.commit(tenant, pending)
    except Conflict:
        if key is not None:  # a concurrent request with the same key won
            again = _replay(await load(ctx, tenant, doc["_id"]), key)
            if again is not None:
                return again, True
        raise
    return present({**doc, **fields}, response=done), False


async def load(ctx: Context, tenant: str, response_id: str) -> dict[str, Any]:
    if len(response_id) > 64:
        raise not_found("Vragenlijst-antwoord")
    doc = await ctx.response_reads.get(tenant, response_id)  # batched with concurrent reads
    if doc is None:
        raise not_found("Vragenlijst-antwoord")
    return doc


def present(
    doc: dict[str, Any], *, include_answers: bool = True, response: Response | None = None
) -> dict[str, Any]:
    """The API representation of a stored response (`response`: its parsed body, if the
    caller has it, saves parsing it again)."""
    response = response or response_of(doc)
    out: dict[str, Any] = {
        "id": response.id,
        "instrument_id": response.instrument_id,
        "version": response.version,
        "family": response.family,
        "variant": response.variant,
        "purpose": doc.get("purpose"),
        "status": response.status,
        "language": response.language,
        "person_id": response.subject_id,
        "assisted": response.assisted_by is not None,
        "assisted_by": response.assisted_by,
        "organisation": doc.get("organisation"),
        "invitation_id": doc.get("invitation_id"),
        "trajectory_id": doc.get("trajectory_id"),
        "params": doc.get("params") or {},
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
    return out
