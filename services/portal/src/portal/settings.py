"""The portal's settings, from `WK_*` (shared) and `WK_PORTAL_*` (its own) variables.

The portal has no database and no broker: it needs identity (WK_ISSUER, the OIDC issuer) and
each service's public API base URL. Defaults are `make run`'s ports.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from wijkkracht_common.settings import BaseServiceSettings

THEMES = ("welzijn-demo", "gemeente-demo")


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"WK_PORTAL_{name.upper()}", name)


class Settings(BaseServiceSettings):
    service_name: str = "portal"
    http_port: int = 8080

    #: Where browsers reach the portal (redirect URI = public_url + "/callback").
    public_url: str = Field(default="http://127.0.0.1:8080", validation_alias=_env("public_url"))
    #: OIDC client registered at identity for the portal (confidential: with a secret).
    client_id: str = Field(default="portal", validation_alias=_env("client_id"))
    #: Empty: a public client (PKCE only). Set: client_secret_basic at the token endpoint.
    client_secret: str = Field(default="", validation_alias=_env("client_secret"))
    scopes: str = Field(
        default="openid profile email offline_access", validation_alias=_env("scopes")
    )

    #: Secret for CSRF tokens; empty: a random one per process (one replica, dev).
    session_secret: str = Field(default="", validation_alias=_env("session_secret"))
    #: Idle timeout and absolute lifetime of a session (seconds).
    session_idle_seconds: int = Field(
        default=30 * 60, ge=60, validation_alias=_env("session_idle_seconds")
    )
    session_max_seconds: int = Field(
        default=8 * 3600, ge=300, validation_alias=_env("session_max_seconds")
    )
    #: `Secure` on the session cookie. Browsers accept it on http://localhost and 127.0.0.1.
    cookie_secure: bool = Field(default=True, validation_alias=_env("cookie_secure"))

    #: Public API base URLs of the services (the portal calls nothing else).
    questionnaires_url: str = Field(
        default="http://127.0.0.1:8002/questionnaires/v1",
        validation_alias=_env("questionnaires_url"),
    )
    learning_paths_url: str = Field(
        default="http://127.0.0.1:8003/learning-paths/v1",
        validation_alias=_env("learning_paths_url"),
    )
    marketplace_url: str = Field(
        default="http://127.0.0.1:8004/marketplace/v1", validation_alias=_env("marketplace_url")
    )
    social_map_url: str = Field(
        default="http://127.0.0.1:8005/social-map/v1", validation_alias=_env("social_map_url")
    )
    effects_url: str = Field(
        default="http://127.0.0.1:8006/effects/v1", validation_alias=_env("effects_url")
    )
    #: Seconds an API call may take before the page shows "try again later".
    api_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias=_env("api_timeout_seconds")
    )

    #: Theme shown before login and to people whose organisation has none of its own.
    default_theme: str = Field(default="welzijn-demo", validation_alias=_env("default_theme"))
    #: Name shown on the accessibility statement and in the footer.
    operator_name: str = Field(default="Wijkkracht", validation_alias=_env("operator_name"))

    @property
    def identity_url(self) -> str:
        """Identity's API base: the OIDC issuer (`…/identity/v1`)."""
        return self.issuer.rstrip("/")

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/callback"
