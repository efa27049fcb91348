"""Issuer settings and lifetimes of the OAuth/OIDC core (one issuer for the whole platform)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# Audience of every access token: the platform APIs of all six services share it, and every
# service checks it (architecture §5). ID tokens use the client id as audience instead.
API_AUDIENCE = "wijkkracht-api"


@dataclass(frozen=True, slots=True)
class OAuthPolicy:
    issuer: str  # e.g. "https://wijkkracht.example/identity/v1"
    audience: str = API_AUDIENCE
    code_lifetime: timedelta = timedelta(seconds=60)
    access_token_lifetime: timedelta = timedelta(minutes=15)
    id_token_lifetime: timedelta = timedelta(minutes=15)
    refresh_token_idle_lifetime: timedelta = timedelta(days=14)
    refresh_family_max_lifetime: timedelta = timedelta(days=60)
