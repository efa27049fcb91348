from __future__ import annotations

from identity.domain.password_policy import SAME_AS_EMAIL, TOO_COMMON, TOO_SHORT, check_password
from identity.service.passwords import PasswordHasher


def test_short_password_is_refused_with_bilingual_message() -> None:
    problems = check_password("kort")
    assert problems == [TOO_SHORT]
    assert "minstens 10 tekens" in problems[0].nl and "at least 10 characters" in problems[0].en


def test_password_equal_to_email_and_common_passwords() -> None:
    assert SAME_AS_EMAIL in check_password("Piet@Example.nl", email="piet@example.nl")
    assert check_password("Wachtwoord123") == [TOO_COMMON]
    assert check_password("1234567890") == [TOO_COMMON]


def test_acceptable_password() -> None:
    assert check_password("paars-fietsje-op-dinsdag", email="piet@example.nl") == []


def test_argon2_hasher_round_trip() -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost_kib=1024, parallelism=1)
    stored = hasher.hash("paars-fietsje-op-dinsdag")
    assert stored.startswith("$argon2id$")
    assert hasher.verify(stored, "paars-fietsje-op-dinsdag")
    assert not hasher.verify(stored, "paars-fietsje-op-woensdag")
    assert not hasher.verify("not-a-hash", "whatever")
    assert PasswordHasher().needs_rehash(stored)  # stronger defaults than this test hash
