"""Ids in HSDS: the specification wants UUIDs, our ids are any `Id` string.

Export: a record whose id is a UUID keeps it; any other id gets a name-based UUID (uuid5 in
the platform's namespace, from the kind of record, its scope and the id), so a record always
exports under the same UUID. Its own id travels with it as an HSDS `metadata` entry (field
"id", previous value = our id, replacement value = the UUID, updated by "wijkkracht"), and an
import takes the id back from there: the round trip is lossless and a re-import recognises its
entries. Records that exist only in HSDS (addresses, accessibility, languages, cost options,
attributes, taxonomy terms, taxonomies, the metadata entries themselves) get derived UUIDs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

#: Fixed forever: changing it changes every exported UUID.
NAMESPACE = uuid.UUID("6f1d3c2e-4b7a-5e90-8c1d-2a3b4c5d6e7f")
#: `metadata.updated_by` of our id entries; an import trusts only these.
ID_MAPPER = "wijkkracht"
#: `metadata.last_action_date` of our id entries: the day the export began to map ids (a
#: constant, so re-exports are byte-for-byte stable).
ID_MAPPING_DATE = "2026-12-06"


def is_uuid(value: str) -> bool:
    """A UUID in its canonical spelling (lower case, hyphens), kept as the HSDS id."""
    if len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def derived_uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def record_uuid(kind: str, our_id: str, scope: str = "") -> str:
    """The HSDS id of one of our records. `scope`: the entry, for records that are unique
    only within their entry (schedules, contacts, phones, service_at_locations)."""
    return our_id if is_uuid(our_id) else derived_uuid(kind, scope, our_id)


def id_metadata(kind: str, our_id: str, hsds_id: str) -> list[dict[str, Any]]:
    """The metadata entry that carries our id (none when the id is the UUID itself)."""
    if our_id == hsds_id:
        return []
    return [
        {
            "id": derived_uuid("metadata", kind, hsds_id),
            "resource_id": hsds_id,
            "resource_type": kind,
            "last_action_date": ID_MAPPING_DATE,
            "last_action_type": "update",
            "field_name": "id",
            "previous_value": our_id,
            "replacement_value": hsds_id,
            "updated_by": ID_MAPPER,
        }
    ]


def local_ids(metadata: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """HSDS id → our id, from the id entries an export of ours wrote (others are ignored)."""
    out: dict[str, str] = {}
    for m in metadata:
        hsds_id, ours = m.get("resource_id"), m.get("previous_value")
        if (
            m.get("field_name") == "id"
            and m.get("updated_by") == ID_MAPPER
            and m.get("replacement_value") == hsds_id
            and isinstance(hsds_id, str)
            and isinstance(ours, str)
            and ours
        ):
            out[hsds_id] = ours
    return out
