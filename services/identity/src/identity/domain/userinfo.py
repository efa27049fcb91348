"""The OIDC userinfo response, built from the current person (not from the token's copy)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from identity.domain.oauth_records import Subject
from identity.domain.people import Person
from identity.domain.scopes import EMAIL, OPENID, PROFILE


def userinfo_claims(
    person: Person, subject: Subject, scopes: Collection[str]
) -> dict[str, Any] | None:
    """None when the token lacks ``openid`` (the endpoint then answers 403 insufficient_scope)."""
    if OPENID not in scopes or not person.is_active:
        return None
    claims: dict[str, Any] = {
        "sub": person.id,
        "tenant": person.tenant,
        "roles": list(subject.roles),
        "orgs": subject.orgs,
    }
    if PROFILE in scopes:
        claims["name"] = person.display_name
    if EMAIL in scopes and person.email is not None:
        claims["email"] = person.email
    return claims
