"""Membership: a person's roles within one organisation (optionally within one team)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

from identity.domain.roles import Role
from identity.domain.slugs import validate_slug
from identity.domain.texts import DomainError, Text


class Membership(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: str
    tenant: str
    organisation: str
    roles: frozenset[Role]
    team: str | None = None

    @field_validator("tenant", "organisation")
    @classmethod
    def _slug(cls, value: str) -> str:
        return validate_slug(value)

    @field_validator("team")
    @classmethod
    def _team(cls, value: str | None) -> str | None:
        return None if value is None else validate_slug(value, "team")

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: frozenset[Role]) -> frozenset[Role]:
        if not value:
            raise DomainError(
                Text(
                    "Een lidmaatschap heeft minstens één rol.",
                    "A membership needs at least one role.",
                ),
                "roles",
            )
        return value

    @field_serializer("roles")
    def _dump_roles(self, value: frozenset[Role]) -> list[str]:
        # A sorted list: stable documents for MongoDB and stable JSON.
        return sorted(role.value for role in value)


def roles_claims(memberships: Iterable[Membership]) -> tuple[list[str], dict[str, list[str]]]:
    """The ``roles`` (sorted distinct) and ``orgs`` ({org: sorted roles}) token claims."""
    per_org: dict[str, set[str]] = {}
    for membership in memberships:
        per_org.setdefault(membership.organisation, set()).update(r.value for r in membership.roles)
    orgs = {org: sorted(roles) for org, roles in sorted(per_org.items())}
    distinct = sorted({role for roles in orgs.values() for role in roles})
    return distinct, orgs
