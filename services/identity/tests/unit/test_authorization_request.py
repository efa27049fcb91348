from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from identity.domain.api_clients import ApiClient
from identity.domain.authorization_request import (
    AuthorizationRejected,
    AuthorizationRequest,
    authorization_response_location,
    issue_authorization_code,
    validate_authorization_request,
)
from identity.domain.oauth_errors import OAuthErrorCode
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.oauth_records import lookup_hash, tenant_of_token
from identity.domain.pkce import s256_challenge
from identity.domain.randomness import RandomSource

VERIFIER = "v" * 43
REDIRECT = "https://good.example/callback"


def request_for(client: ApiClient, **overrides: str | None) -> AuthorizationRequest:
    params: dict[str, str | None] = {
        "client_id": client.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid profile",
        "state": "st-123",
        "code_challenge": s256_challenge(VERIFIER),
        "code_challenge_method": "S256",
        "nonce": "n-456",
    }
    params.update(overrides)
    return AuthorizationRequest.from_query((k, v) for k, v in params.items() if v is not None)


def rejected(
    client: ApiClient | None, request: AuthorizationRequest, policy: OAuthPolicy
) -> AuthorizationRejected:
    with pytest.raises(AuthorizationRejected) as caught:
        validate_authorization_request(request, client, policy)
    return caught.value


def test_valid_request_and_code_redirect_echoes_state(
    public_client: ApiClient, policy: OAuthPolicy, now: datetime, rng: RandomSource
) -> None:
    validated = validate_authorization_request(request_for(public_client), public_client, policy)
    assert validated.scopes == ("openid", "profile") and validated.nonce == "n-456"
    code, record = issue_authorization_code(
        validated, subject="p-1", auth_time=now, now=now, policy=policy, source=rng
    )
    assert record.code_hash == lookup_hash(code) and code not in record.model_dump_json()
    assert record.expires_at - record.issued_at == timedelta(seconds=60)
    assert tenant_of_token(code) == "demo"
    location = authorization_response_location(validated, code, policy)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    assert parse_qs(parts.query) == {"code": [code], "state": ["st-123"], "iss": [policy.issuer]}


@pytest.mark.parametrize(
    "redirect",
    [
        "https://good.example/callback.evil.example",
        "https://good.example/callback/../evil",
        "https://good.example/callback?extra=1",
        "https://good.example/callback/",
        "https://good.example/callback#x",
        "https://good.example.evil.example/callback",
        "https://evil.example/callback",
        "https://good.example@evil.example/callback",
        "HTTPS://good.example/callback",
        None,
    ],
)
def test_redirect_mismatch_is_never_redirected_to(
    public_client: ApiClient, policy: OAuthPolicy, redirect: str | None
) -> None:
    error = rejected(public_client, request_for(public_client, redirect_uri=redirect), policy)
    assert error.redirect_location() is None
    assert error.error.code is OAuthErrorCode.INVALID_REQUEST


def test_unknown_client_shows_error_page(public_client: ApiClient, policy: OAuthPolicy) -> None:
    assert rejected(None, request_for(public_client), policy).redirect_location() is None
    other = request_for(public_client, client_id="demo.someone-else")
    assert rejected(public_client, other, policy).redirect_location() is None


def test_repeated_redirect_uri_is_refused(public_client: ApiClient, policy: OAuthPolicy) -> None:
    pairs = [
        ("client_id", public_client.client_id),
        ("redirect_uri", REDIRECT),
        ("redirect_uri", "https://evil.example/cb"),
    ]
    assert (
        rejected(public_client, AuthorizationRequest.from_query(pairs), policy).redirect_location()
        is None
    )


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"code_challenge_method": "plain"}, OAuthErrorCode.INVALID_REQUEST),
        ({"code_challenge_method": None}, OAuthErrorCode.INVALID_REQUEST),  # defaults to plain
        ({"code_challenge": None}, OAuthErrorCode.INVALID_REQUEST),
        ({"code_challenge": "too-short"}, OAuthErrorCode.INVALID_REQUEST),
        ({"response_type": "token"}, OAuthErrorCode.UNSUPPORTED_RESPONSE_TYPE),
        ({"scope": "openid admin"}, OAuthErrorCode.INVALID_SCOPE),
        ({"scope": None}, OAuthErrorCode.INVALID_SCOPE),
    ],
)
def test_errors_after_redirect_check_go_back_with_state(
    public_client: ApiClient,
    policy: OAuthPolicy,
    overrides: dict[str, str | None],
    code: OAuthErrorCode,
) -> None:
    error = rejected(public_client, request_for(public_client, **overrides), policy)
    assert error.error.code is code
    location = error.redirect_location()
    assert location is not None and location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == [code.value] and query["state"] == ["st-123"]


def test_registered_query_is_preserved(
    public_client: ApiClient, policy: OAuthPolicy, now: datetime, rng: RandomSource
) -> None:
    client = public_client.model_copy(update={"redirect_uris": ("https://good.example/cb?app=1",)})
    validated = validate_authorization_request(
        request_for(client, redirect_uri="https://good.example/cb?app=1"), client, policy
    )
    code, _ = issue_authorization_code(
        validated, subject="p", auth_time=now, now=now, policy=policy, source=rng
    )
    query = parse_qs(urlsplit(authorization_response_location(validated, code, policy)).query)
    assert query["app"] == ["1"] and query["code"] == [code]
