"""OAuth 2.0 error vocabulary (RFC 6749 §4.1.2.1 and §5.2, RFC 7009 §2.2.1).

Own small typed exception rather than raising Authlib's ``OAuth2Error`` subclasses: Authlib
ships no type information (``mypy --strict`` would see ``Any``) and its errors carry
framework concerns (headers, redirect building). The error codes are Authlib's: a unit test
asserts each code equals the matching Authlib class's ``error`` attribute.
"""

from __future__ import annotations

from enum import StrEnum


class OAuthErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    UNSUPPORTED_RESPONSE_TYPE = "unsupported_response_type"
    INVALID_SCOPE = "invalid_scope"
    ACCESS_DENIED = "access_denied"
    UNSUPPORTED_TOKEN_TYPE = "unsupported_token_type"


_STATUS = {OAuthErrorCode.INVALID_CLIENT: 401}


class OAuthError(Exception):
    """An OAuth protocol error. ``description`` is for developers (English, no secrets)."""

    def __init__(self, code: OAuthErrorCode, description: str) -> None:
        super().__init__(f"{code.value}: {description}")
        self.code = code
        self.description = description

    @property
    def status_code(self) -> int:
        return _STATUS.get(self.code, 400)

    def body(self) -> dict[str, str]:
        return {"error": self.code.value, "error_description": self.description}


def invalid_grant(description: str) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_GRANT, description)


def invalid_request(description: str) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_REQUEST, description)


def invalid_client(description: str = "client authentication failed") -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_CLIENT, description)
