"""What identity publishes so that every service, not only identity, refuses a token at once
(`wijkkracht_common.revocation`): `access_token_revoked` per revoked access token,
`person_disabled` when a person is erased, `client_disabled` when a client is disabled.
They are staged in the transaction that revokes or disables, like every other event.

Other services verify tokens locally and would otherwise accept a revoked token until it
expires; identity's own verifier consults the same feed, and identity's endpoints also
check the deny-list (`service.oauth.is_revoked`), which takes effect in the same request.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import AccessTokenRevoked, ClientDisabled, PersonDisabled
from wijkkracht_common.outbox import Staged


def tokens_revoked(
    tenant: str, revoked: Iterable[tuple[str, datetime]], *, actor: str, now: datetime
) -> list[Staged]:
    """One `access_token_revoked` per (jti, expiry) not yet expired (an expired token is
    refused anyway); the subject is the token id, never the person."""
    return [
        new_event(
            AccessTokenRevoked(token_id=jti, expires_at=expires_at),
            tenant=tenant,
            subject=jti,
            actor=actor,
            time=now,
        )
        for jti, expires_at in dict(revoked).items()
        if expires_at > now
    ]


def person_disabled(tenant: str, person_id: str, *, actor: str, now: datetime) -> Staged:
    """Every token issued to the person before `now` is refused by every service."""
    return new_event(
        PersonDisabled(person_id=person_id), tenant=tenant, subject=person_id, actor=actor, time=now
    )


def client_disabled(
    tenant: str, client_id: str, *, organisation: str, actor: str, now: datetime
) -> Staged:
    """Every token issued through the client before `now` is refused by every service."""
    return new_event(
        ClientDisabled(client_id=client_id),
        tenant=tenant,
        subject=client_id,
        actor=actor,
        organisation=organisation,
        time=now,
    )
