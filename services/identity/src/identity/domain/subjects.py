"""Build the token ``Subject`` from a person and their memberships (all prefetched)."""

from __future__ import annotations

from collections.abc import Iterable

from identity.domain.memberships import Membership, roles_claims
from identity.domain.oauth_records import Subject
from identity.domain.people import Person


def subject_for(person: Person, memberships: Iterable[Membership]) -> Subject:
    """Only memberships of the person's own tenant count (a defensive filter: tenant isolation)."""
    own = [m for m in memberships if m.person_id == person.id and m.tenant == person.tenant]
    roles, orgs = roles_claims(own)
    return Subject(
        person_id=person.id,
        tenant=person.tenant,
        active=person.is_active,
        roles=tuple(roles),
        orgs=orgs,
    )
