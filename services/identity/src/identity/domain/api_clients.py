"""API clients of member organisations: public (browser/mobile apps) and confidential (servers).

Client ids carry their tenant as prefix (``<tenant>.<random>``) so the service layer knows
which tenant database to open before it has loaded anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from identity.domain.hashing import matches_sha256, sha256_hex
from identity.domain.randomness import RandomSource, token_urlsafe
from identity.domain.scopes import is_scope_token
from identity.domain.signing_keys import DEFAULT_ALG, SigningAlg
from identity.domain.slugs import is_valid_slug, validate_slug
from identity.domain.texts import DomainError, Text

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class ClientType(StrEnum):
    PUBLIC = "public"
    CONFIDENTIAL = "confidential"


class GrantType(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    REFRESH_TOKEN = "refresh_token"
    CLIENT_CREDENTIALS = "client_credentials"


_PUBLIC_GRANTS = frozenset({GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN})


def _invalid(nl: str, en: str, field: str) -> DomainError:
    return DomainError(Text(nl, en), field)


def validate_redirect_uri(uri: str) -> str:
    """Absolute http(s) URI without fragment or user info; plain http only on loopback."""
    try:
        parts = urlsplit(uri)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise _invalid(
            "Ongeldige redirect-URI.", "Invalid redirect URI.", "redirect_uris"
        ) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _invalid(
            "Redirect-URI moet absoluut zijn (https).",
            "Redirect URI must be absolute (https).",
            "redirect_uris",
        )
    if parts.fragment or "#" in uri:
        raise _invalid(
            "Redirect-URI mag geen #fragment hebben.",
            "Redirect URI must not have a #fragment.",
            "redirect_uris",
        )
    if parts.username is not None or parts.password is not None:
        raise _invalid(
            "Redirect-URI mag geen gebruikersnaam bevatten.",
            "Redirect URI must not contain user info.",
            "redirect_uris",
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise _invalid(
            "Alleen https, behalve voor localhost.",
            "Only https, except for localhost.",
            "redirect_uris",
        )
    if any(ch.isspace() for ch in uri):
        raise _invalid(
            "Redirect-URI bevat spaties.", "Redirect URI contains whitespace.", "redirect_uris"
        )
    return uri


def validate_origin(origin: str) -> str:
    """A CORS origin is scheme://host[:port] exactly, as browsers send it (no path, no slash)."""
    try:
        parts = urlsplit(origin)
        _ = parts.port
    except ValueError:
        parts = urlsplit("invalid:")
    valid = (
        parts.scheme in ("https", "http")
        and bool(parts.hostname)
        and parts.path == ""
        and not parts.query
        and not parts.fragment
        and parts.username is None
        and (parts.scheme == "https" or parts.hostname in LOOPBACK_HOSTS)
        and origin == origin.lower()
    )
    if not valid:
        raise _invalid(
            f"Ongeldige origin '{origin}' (verwacht https://host[:poort]).",
            f"Invalid origin '{origin}' (expected https://host[:port]).",
            "allowed_origins",
        )
    return origin


class ApiClient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str
    tenant: str
    organisation: str
    name: str
    client_type: ClientType
    scopes: tuple[str, ...]
    grant_types: tuple[GrantType, ...]
    created_at: datetime
    redirect_uris: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    secret_hash: str | None = None
    disabled: bool = False
    #: Where RP-initiated logout may send the browser back to (exact strings, like
    #: `redirect_uris`; OpenID Connect RP-Initiated Logout 1.0).
    post_logout_redirect_uris: tuple[str, ...] = ()
    #: The algorithm of this client's ID tokens (OpenID Connect client metadata).
    id_token_signed_response_alg: SigningAlg = DEFAULT_ALG

    @field_validator("tenant", "organisation")
    @classmethod
    def _slug(cls, value: str) -> str:
        return validate_slug(value)

    @field_validator("redirect_uris")
    @classmethod
    def _redirects(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(validate_redirect_uri(uri) for uri in value)

    @field_validator("post_logout_redirect_uris")
    @classmethod
    def _post_logout_redirects(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(validate_redirect_uri(uri) for uri in value)
        except DomainError as error:
            raise DomainError(error.text, "post_logout_redirect_uris") from None

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(validate_origin(origin) for origin in value)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not is_scope_token(scope) for scope in value):
            raise _invalid("Ongeldige scope.", "Invalid scope.", "scopes")
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _type_rules(self) -> ApiClient:
        # A client id either carries its tenant as prefix (``<tenant>.<random>``) or is a
        # registered platform-wide name without a dot (e.g. ``demo-frontend``), which the
        # service resolves through its name table before any lookup.
        prefix = tenant_of_client_id(self.client_id)
        named = is_client_name(self.client_id)
        if (prefix is None and not named) or (prefix is not None and prefix != self.tenant):
            raise _invalid(
                "Client-id hoort niet bij deze tenant.",
                "Client id does not match the tenant.",
                "client_id",
            )
        if self.client_type is ClientType.PUBLIC:
            if self.secret_hash is not None:
                raise _invalid(
                    "Een publieke client heeft geen geheim.",
                    "A public client has no secret.",
                    "secret_hash",
                )
            if not set(self.grant_types) <= _PUBLIC_GRANTS:
                raise _invalid(
                    "Een publieke client mag geen client_credentials gebruiken.",
                    "A public client may not use client_credentials.",
                    "grant_types",
                )
        elif self.secret_hash is None:
            raise _invalid(
                "Een vertrouwelijke client heeft een geheim nodig.",
                "A confidential client needs a secret.",
                "secret_hash",
            )
        if GrantType.AUTHORIZATION_CODE in self.grant_types and not self.redirect_uris:
            raise _invalid(
                "Minstens één redirect-URI is nodig.",
                "At least one redirect URI is required.",
                "redirect_uris",
            )
        return self

    @property
    def is_public(self) -> bool:
        return self.client_type is ClientType.PUBLIC

    def allows_grant(self, grant: GrantType) -> bool:
        return not self.disabled and grant in self.grant_types

    def has_redirect_uri(self, uri: str) -> bool:
        """Exact string match only (RFC 9700): no prefix, no normalisation, no wildcard."""
        return uri in self.redirect_uris

    def has_post_logout_redirect_uri(self, uri: str) -> bool:
        """Exact string match, as for `redirect_uris`."""
        return uri in self.post_logout_redirect_uris

    def allows_origin(self, origin: str) -> bool:
        return origin in self.allowed_origins

    def verify_secret(self, presented: str) -> bool:
        """Constant-time; always False for public clients."""
        if self.secret_hash is None:
            return False
        return matches_sha256(presented, self.secret_hash)


def tenant_of_client_id(client_id: str) -> str | None:
    tenant, dot, rest = client_id.partition(".")
    return tenant if dot and rest and is_valid_slug(tenant) else None


def is_client_name(client_id: str) -> bool:
    """A registered platform-wide client name: a slug, so never confused with a prefixed id."""
    return is_valid_slug(client_id)


def new_client_id(tenant: str, source: RandomSource) -> str:
    return f"{validate_slug(tenant, 'tenant')}.{token_urlsafe(source, 12)}"


def new_public_client(
    *,
    tenant: str,
    organisation: str,
    name: str,
    redirect_uris: Iterable[str],
    allowed_origins: Iterable[str],
    scopes: Iterable[str],
    now: datetime,
    source: RandomSource,
    refresh_tokens: bool = True,
    post_logout_redirect_uris: Iterable[str] = (),
    id_token_signed_response_alg: SigningAlg = DEFAULT_ALG,
) -> ApiClient:
    grants = [GrantType.AUTHORIZATION_CODE] + ([GrantType.REFRESH_TOKEN] if refresh_tokens else [])
    return ApiClient(
        client_id=new_client_id(tenant, source),
        tenant=tenant,
        organisation=organisation,
        name=name,
        client_type=ClientType.PUBLIC,
        scopes=tuple(scopes),
        grant_types=tuple(grants),
        created_at=now,
        redirect_uris=tuple(redirect_uris),
        allowed_origins=tuple(allowed_origins),
        post_logout_redirect_uris=tuple(post_logout_redirect_uris),
        id_token_signed_response_alg=id_token_signed_response_alg,
    )


def new_confidential_client(
    *,
    tenant: str,
    organisation: str,
    name: str,
    scopes: Iterable[str],
    now: datetime,
    source: RandomSource,
    grant_types: Iterable[GrantType] = (GrantType.CLIENT_CREDENTIALS,),
    redirect_uris: Iterable[str] = (),
    post_logout_redirect_uris: Iterable[str] = (),
    id_token_signed_response_alg: SigningAlg = DEFAULT_ALG,
) -> tuple[str, ApiClient]:
    """Return the plain secret (shown once) and the client with only its hash."""
    secret = token_urlsafe(source, 32)
    client = ApiClient(
        client_id=new_client_id(tenant, source),
        tenant=tenant,
        organisation=organisation,
        name=name,
        client_type=ClientType.CONFIDENTIAL,
        scopes=tuple(scopes),
        grant_types=tuple(grant_types),
        created_at=now,
        redirect_uris=tuple(redirect_uris),
        secret_hash=sha256_hex(secret),
        post_logout_redirect_uris=tuple(post_logout_redirect_uris),
        id_token_signed_response_alg=id_token_signed_response_alg,
    )
    return secret, client
