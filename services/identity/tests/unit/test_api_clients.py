from __future__ import annotations

from datetime import datetime

import pytest
from identity.domain.api_clients import (
    ApiClient,
    ClientType,
    GrantType,
    tenant_of_client_id,
    validate_origin,
    validate_redirect_uri,
)
from identity.domain.texts import DomainError
from pydantic import ValidationError


@pytest.mark.parametrize(
    "uri",
    [
        "https://good.example/callback",
        "https://good.example/cb?app=1",
        "http://localhost:5173/cb",
        "http://127.0.0.1:8080/cb",
        "http://[::1]/cb",
    ],
)
def test_acceptable_redirect_uris(uri: str) -> None:
    assert validate_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "/callback",
        "good.example/cb",
        "https://good.example/cb#frag",
        "https://good.example/cb#",
        "http://good.example/cb",
        "javascript:alert(1)",
        "https://user@good.example/cb",
        "https://good.example:99999/cb",
        "custom-app://cb",
        "https://good.example/c b",
    ],
)
def test_refused_redirect_uris(uri: str) -> None:
    with pytest.raises(DomainError):
        validate_redirect_uri(uri)


def test_origins() -> None:
    assert validate_origin("https://app.de-smd.example") == "https://app.de-smd.example"
    assert validate_origin("http://localhost:5173") == "http://localhost:5173"
    for bad in [
        "https://app.example/",
        "https://app.example/path",
        "http://app.example",
        "*",
        "HTTPS://A.EXAMPLE",
    ]:
        with pytest.raises(DomainError):
            validate_origin(bad)


def test_public_client(public_client: ApiClient) -> None:
    assert public_client.client_type is ClientType.PUBLIC and public_client.secret_hash is None
    assert tenant_of_client_id(public_client.client_id) == "demo"
    assert public_client.has_redirect_uri("https://good.example/callback")
    assert not public_client.has_redirect_uri("https://good.example/callback/")
    assert not public_client.has_redirect_uri("https://GOOD.example/callback")
    assert public_client.allows_origin("https://good.example")
    assert not public_client.allows_origin("https://evil.example")
    assert not public_client.verify_secret("")
    assert ApiClient.model_validate(public_client.model_dump()) == public_client


def test_public_client_cannot_use_client_credentials(public_client: ApiClient) -> None:
    data = public_client.model_dump() | {"grant_types": ("client_credentials",)}
    with pytest.raises(ValidationError):
        ApiClient.model_validate(data)


def test_confidential_client_secret_is_hashed(confidential: tuple[str, ApiClient]) -> None:
    secret, client = confidential
    assert client.secret_hash is not None and secret not in client.model_dump_json()
    assert client.verify_secret(secret)
    assert not client.verify_secret(secret + "x")
    assert client.allows_grant(GrantType.CLIENT_CREDENTIALS)
    assert not client.model_copy(update={"disabled": True}).allows_grant(
        GrantType.CLIENT_CREDENTIALS
    )


def test_client_id_must_belong_to_tenant(public_client: ApiClient, now: datetime) -> None:
    with pytest.raises(ValidationError):
        ApiClient.model_validate(public_client.model_dump() | {"tenant": "zaanstreek"})
    assert tenant_of_client_id("no-dot") is None
    assert tenant_of_client_id("Bad.x") is None
