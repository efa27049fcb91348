"""OpenID Provider metadata (OIDC Discovery 1.0 / RFC 8414) and endpoint paths."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from identity.domain.scopes import STANDARD_SCOPES

# Paths relative to the issuer (the identity service base URL, e.g. https://host/identity/v1).
AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
REVOCATION_PATH = "/oauth/revoke"
INTROSPECTION_PATH = "/oauth/introspect"
END_SESSION_PATH = "/oauth/logout"
USERINFO_PATH = "/oauth/userinfo"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"


def discovery_document(
    issuer: str, *, extra_scopes: Iterable[str] = (), signing_algs: Iterable[str] = ("ES256",)
) -> dict[str, Any]:
    """`signing_algs`: the algorithms the issuer has an active key of (RS256 must be among
    them for an OpenID Provider; ES256 signs access tokens and, by default, ID tokens)."""
    base = issuer.rstrip("/")
    auth_methods = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": base,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "revocation_endpoint": base + REVOCATION_PATH,
        "introspection_endpoint": base + INTROSPECTION_PATH,
        "end_session_endpoint": base + END_SESSION_PATH,
        "userinfo_endpoint": base + USERINFO_PATH,
        "jwks_uri": base + JWKS_PATH,
        "scopes_supported": sorted(STANDARD_SCOPES | set(extra_scopes)),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted(set(signing_algs)),
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        # Only confidential clients (resource servers) may introspect.
        "introspection_endpoint_auth_methods_supported": auth_methods[:2],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "name",
            "email",
            "tenant",
            "roles",
            "orgs",
        ],
        "authorization_response_iss_parameter_supported": True,
        # No request objects and no `claims` parameter (their defaults would claim support).
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
        "ui_locales_supported": ["nl", "en"],
    }
