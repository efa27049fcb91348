"""Collections, indexes and the stored form of each domain object (document <-> domain).

Definitions and responses are stored as one JSON string (`body`) next to a few plain query
fields: a JSON string round-trips exactly on every engine we run on, whereas a boolean or a
date-time written with `$set` may read back as another type (see `wijkkracht_common.storage`),
which would turn a yes/no answer `true` into the number 1. Query fields never hold booleans;
stored date-times are read through `stored_datetime`.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.storage import ASCENDING, IndexModel, IndexSpec, stored_datetime

from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.instrument import Instrument
from questionnaires.domain.invitation import Invitation
from questionnaires.domain.response import Response
from questionnaires.domain.response_record import InviterShare, ResponseRecord, SubmitKey

Document = dict[str, Any]

INSTRUMENTS = "instruments"
RESPONSES = "responses"
INVITATIONS = "invitations"
# One document per e-mail link token: `_id` = sha256 of the token -> invitation id. (Not a
# `token_hashes` list on the invitation: equality on an indexed array field is not served by
# every engine we run on, see the developer guide's known quirks.)
INVITATION_LINKS = "invitation_links"
SHARES = "shares"
TENANTS = "tenants"  # platform database: tenants registered by identity

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(
        INSTRUMENTS,
        (
            IndexModel([("instrument_id", ASCENDING), ("version", ASCENDING)], unique=True),
            IndexModel([("status", ASCENDING)]),
        ),
    ),
    IndexSpec(
        RESPONSES,
        (
            IndexModel([("person_id", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("invitation_id", ASCENDING)]),
        ),
    ),
    IndexSpec(
        INVITATIONS,
        (
            IndexModel([("person_id", ASCENDING)]),
            IndexModel([("organisation", ASCENDING)]),
        ),
    ),
    IndexSpec(INVITATION_LINKS, (IndexModel([("invitation_id", ASCENDING)]),)),
    IndexSpec(SHARES, (IndexModel([("response_id", ASCENDING)]),)),
)


# ---- instruments -----------------------------------------------------------------------------


def instrument_doc(instrument: Instrument) -> Document:
    definition = instrument.definition
    return {
        "_id": instrument.key,
        "instrument_id": definition.id,
        "version": definition.version,
        "status": definition.status,
        "family": definition.family,
        "variant": definition.variant,
        "owner": instrument.owner,
        "purpose": instrument.purpose,
        "body": definition.model_dump_json(),
    }


def instrument_of(doc: Document) -> Instrument:
    return Instrument(
        InstrumentDefinition.model_validate_json(doc["body"]), doc.get("owner"), doc["purpose"]
    )


# ---- responses -------------------------------------------------------------------------------


def response_fields(record: ResponseRecord) -> Document:
    """The fields that change with the response (for `$set`); the submit's Idempotency-Key
    only once it has one."""
    response = record.response
    fields: Document = {
        "status": response.status,
        "updated_at": response.updated_at,
        "submitted_at": response.submitted_at,
        "assisted_by": response.assisted_by,
        "body": response.model_dump_json(),
    }
    if record.submit_key is not None:
        fields["submit_key"] = record.submit_key.key
        fields["submit_fingerprint"] = record.submit_key.fingerprint
    return fields


def response_doc(record: ResponseRecord) -> Document:
    response = record.response
    return {
        "_id": response.id,
        "person_id": response.subject_id,
        "instrument_id": response.instrument_id,
        "version": response.version,
        "family": response.family,
        **response_fields(record),
        "purpose": record.purpose,
        "variant": response.variant,
        "organisation": record.organisation,
        "invitation_id": record.invitation_id,
        "trajectory_id": record.trajectory_id,
        "params": dict(record.params),
        "resume_hash": record.resume_hash,
        "started_by": record.started_by,
        "inviter_share": inviter_share_doc(record.inviter_share),
    }


def inviter_share_doc(share: InviterShare | None) -> Document | None:
    """A sub-document (its date-time keeps its type on every engine, even under `$set`);
    `shared` as yes/no: a boolean written with `$set` may read back as 1/0."""
    if share is None:
        return None
    return {
        "organisation": share.organisation,
        "shared": "yes" if share.shared else "no",
        "at": share.at,
    }


def inviter_share_of(doc: Document | None) -> InviterShare | None:
    at = stored_datetime(doc.get("at")) if doc else None
    if doc is None or at is None:
        return None
    return InviterShare(doc["organisation"], doc["shared"] == "yes", at)


def record_of(doc: Document) -> ResponseRecord:
    key = doc.get("submit_key")
    response = Response.model_validate_json(doc["body"])
    if response.subject_id != doc.get("person_id"):
        # The plain field decides: attaching a response to an account sets it conditionally,
        # and a save racing the attach may still write the body without the person.
        response = response.model_copy(update={"subject_id": doc.get("person_id")})
    return ResponseRecord(
        response=response,
        purpose=doc["purpose"],
        organisation=doc.get("organisation"),
        invitation_id=doc.get("invitation_id"),
        trajectory_id=doc.get("trajectory_id"),
        params=doc.get("params") or {},
        resume_hash=doc.get("resume_hash"),
        started_by=doc.get("started_by"),
        submit_key=SubmitKey(key, doc.get("submit_fingerprint") or "") if key else None,
        inviter_share=inviter_share_of(doc.get("inviter_share")),
    )


# ---- invitations -----------------------------------------------------------------------------


def invitation_doc(invitation: Invitation) -> Document:
    # Inserted whole, so `due_at` keeps its date-time type for the sweep's range queries.
    doc: Document = {
        "_id": invitation.id,
        "instrument_id": invitation.instrument_id,
        "person_id": invitation.person_id,
        "email": invitation.email,
        "organisation": invitation.organisation,
        "invited_by": invitation.invited_by,
        "due_at": invitation.due_at,
        "followup_of": invitation.followup_of,
        "status": invitation.status,
        "reminders": invitation.reminders,
        "language": invitation.language,
        "created_at": invitation.created_at,
        "updated_at": invitation.updated_at,
        "response_id": invitation.response_id,
    }
    if invitation.auto_reminded_at is not None:
        doc["auto_reminded_at"] = invitation.auto_reminded_at
    return doc


def invitation_of(doc: Document) -> Invitation:
    created = stored_datetime(doc["created_at"])
    assert created is not None
    return Invitation(
        id=doc["_id"],
        instrument_id=doc["instrument_id"],
        person_id=doc.get("person_id"),
        email=doc.get("email"),
        organisation=doc.get("organisation"),
        invited_by=doc["invited_by"],
        due_at=stored_datetime(doc.get("due_at")),
        followup_of=doc.get("followup_of"),
        status=doc["status"],
        created_at=created,
        updated_at=stored_datetime(doc.get("updated_at")) or created,
        language=doc.get("language"),
        reminders=int(doc.get("reminders") or 0),
        response_id=doc.get("response_id"),
        auto_reminded_at=doc.get("auto_reminded_at"),
    )
