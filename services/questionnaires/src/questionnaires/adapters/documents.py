"""Collections, indexes and document <-> domain conversion.

Domain objects are stored as one JSON string (`body`) next to a few plain query fields. Why:
nx-27017 reads booleans written with `$set` back as 1/0, which would turn a yes/no answer
`true` into the number 1; a JSON string round-trips exactly on every backend. Query fields
never hold booleans.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wijkkracht_common.storage import ASCENDING, IndexModel, IndexSpec

from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.response import Response

INSTRUMENTS = "instruments"
RESPONSES = "responses"
INVITATIONS = "invitations"
# One document per e-mail link token: `_id` = sha256 of the token -> invitation id. (An index
# on an array field breaks equality queries on nx-27017, so no `token_hashes` list.)
INVITATION_LINKS = "invitation_links"
CONSENTS = "consents"
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
    IndexSpec(CONSENTS, (IndexModel([("person_id", ASCENDING)]),)),
    IndexSpec(INVITATION_LINKS, (IndexModel([("invitation_id", ASCENDING)]),)),
    IndexSpec(SHARES, (IndexModel([("response_id", ASCENDING)]),)),
)


def as_datetime(value: Any) -> datetime | None:
    """A stored date-time. nx-27017 reads a datetime written with `$set` back as a naive
    string ("2026-01-02 10:00:00.123000"), so query fields are normalised on read and the
    authoritative timestamps live in `body`."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def instrument_key(instrument_id: str, version: int) -> str:
    return f"{instrument_id}@{version}"


def instrument_doc(
    definition: InstrumentDefinition, *, owner: str | None, purpose: str
) -> dict[str, Any]:
    return {
        "_id": instrument_key(definition.id, definition.version),
        "instrument_id": definition.id,
        "version": definition.version,
        "status": definition.status,
        "family": definition.family,
        "variant": definition.variant,
        "owner": owner,  # organisation slug; None for shipped instruments
        "purpose": purpose,
        "body": definition.model_dump_json(),
    }


def definition_of(doc: dict[str, Any]) -> InstrumentDefinition:
    return InstrumentDefinition.model_validate_json(doc["body"])


def response_fields(response: Response) -> dict[str, Any]:
    """The fields that change with the response (for `$set`)."""
    return {
        "status": response.status,
        "updated_at": response.updated_at,
        "submitted_at": response.submitted_at,
        "assisted_by": response.assisted_by,
        "body": response.model_dump_json(),
    }


def response_doc(response: Response, **extra: Any) -> dict[str, Any]:
    return {
        "_id": response.id,
        "person_id": response.subject_id,
        "instrument_id": response.instrument_id,
        "version": response.version,
        "family": response.family,
        **response_fields(response),
        **extra,
    }


def response_of(doc: dict[str, Any]) -> Response:
    return Response.model_validate_json(doc["body"])
