from __future__ import annotations

import authlib.oauth2.rfc6749.errors as authlib_errors
import pytest
from authlib.oauth2.rfc7009 import RevocationEndpoint  # noqa: F401 - proves rfc7009 is present
from identity.domain.oauth_errors import OAuthError, OAuthErrorCode
from identity.domain.pkce import is_valid_verifier, s256_challenge, verifier_matches

RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_rfc7636_appendix_b_vector() -> None:
    assert s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert verifier_matches(RFC_VERIFIER, RFC_CHALLENGE)


def test_mismatch_and_malformed_verifiers() -> None:
    assert not verifier_matches(RFC_VERIFIER[:-1] + "l", RFC_CHALLENGE)
    assert not verifier_matches(RFC_CHALLENGE, RFC_CHALLENGE)  # "plain": the challenge itself
    assert not is_valid_verifier("short")
    assert not is_valid_verifier("a" * 129)
    assert not is_valid_verifier("a" * 42 + "!")


@pytest.mark.parametrize(
    ("code", "authlib_class"),
    [
        (OAuthErrorCode.INVALID_REQUEST, "InvalidRequestError"),
        (OAuthErrorCode.INVALID_CLIENT, "InvalidClientError"),
        (OAuthErrorCode.INVALID_GRANT, "InvalidGrantError"),
        (OAuthErrorCode.UNAUTHORIZED_CLIENT, "UnauthorizedClientError"),
        (OAuthErrorCode.UNSUPPORTED_GRANT_TYPE, "UnsupportedGrantTypeError"),
        (OAuthErrorCode.UNSUPPORTED_RESPONSE_TYPE, "UnsupportedResponseTypeError"),
        (OAuthErrorCode.INVALID_SCOPE, "InvalidScopeError"),
        (OAuthErrorCode.ACCESS_DENIED, "AccessDeniedError"),
        (OAuthErrorCode.UNSUPPORTED_TOKEN_TYPE, "UnsupportedTokenTypeError"),
    ],
)
def test_error_codes_match_authlib_vocabulary(code: OAuthErrorCode, authlib_class: str) -> None:
    assert getattr(authlib_errors, authlib_class).error == code.value


def test_error_body_and_status() -> None:
    error = OAuthError(OAuthErrorCode.INVALID_CLIENT, "client authentication failed")
    assert error.status_code == 401
    assert error.body() == {
        "error": "invalid_client",
        "error_description": "client authentication failed",
    }
    assert OAuthError(OAuthErrorCode.INVALID_GRANT, "x").status_code == 400
