"""Shared fixtures for identity's pure unit tests (no I/O, fixed clock, seeded randomness)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from identity.domain.api_clients import ApiClient, new_confidential_client, new_public_client
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.oauth_records import Subject
from identity.domain.signing_keys import KeySet

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
ISSUER = "https://wijkkracht.example/identity/v1"
REDIRECT = "https://good.example/callback"


class SeededRandom:
    """Deterministic stand-in for ``SystemRandom`` (same interface)."""

    def __init__(self, seed: int = 7) -> None:
        self._rng = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)

    def below(self, n: int) -> int:
        return self._rng.randrange(n)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def rng() -> SeededRandom:
    return SeededRandom()


@pytest.fixture
def policy() -> OAuthPolicy:
    return OAuthPolicy(issuer=ISSUER)


@pytest.fixture(scope="session")
def keys() -> KeySet:
    return KeySet.bootstrap(datetime(2025, 1, 1, tzinfo=UTC))


@pytest.fixture
def public_client(rng: SeededRandom) -> ApiClient:
    return new_public_client(
        tenant="demo",
        organisation="de-smd",
        name="Wijkapp",
        redirect_uris=[REDIRECT, "http://localhost:5173/cb"],
        allowed_origins=["https://good.example"],
        scopes=["openid", "profile", "email", "offline_access", "questionnaires"],
        now=NOW,
        source=rng,
    )


@pytest.fixture
def confidential() -> tuple[str, ApiClient]:
    return new_confidential_client(
        tenant="demo",
        organisation="gemeente-demo",
        name="Rapportage",
        scopes=["effects.read", "openid"],
        now=NOW,
        source=SeededRandom(99),
    )


@pytest.fixture
def subject_factory() -> Callable[..., Subject]:
    def make(person_id: str = "p-1", tenant: str = "demo", active: bool = True) -> Subject:
        return Subject(
            person_id=person_id,
            tenant=tenant,
            active=active,
            roles=("professional", "resident"),
            orgs={"de-smd": ["professional"], "buurtwerk": ["resident"]},
        )

    return make
