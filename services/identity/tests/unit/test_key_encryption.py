"""Envelope encryption of the private signing keys (AES-256-GCM): what a sealed record
holds, what binds it, a wrong key, KEK rotation (re-wrap) and where the KEK comes from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from identity.adapters.kek_source import load_key_ring
from identity.adapters.key_encryption import (
    KeyEncryptionError,
    KeyEncryptionKey,
    KeyRing,
)
from identity.domain.signing_keys import KeySet
from identity.settings import Settings

KEY = KeySet.bootstrap(datetime(2025, 1, 1, tzinfo=UTC)).active_key()
OLD, NEW = KeyEncryptionKey.generate(), KeyEncryptionKey.generate()
PEPPER = "unit-test-pepper-" + "x" * 32


def test_a_sealed_key_holds_no_private_material_and_opens_again() -> None:
    ring = KeyRing(OLD)
    sealed = ring.seal(KEY.private_jwk, tenant="platform", kid=KEY.kid)
    text = json.dumps(sealed)
    assert KEY.private_jwk["d"] not in text and '"d"' not in text
    assert sealed["kek"] == OLD.id and OLD.encode() not in text
    assert ring.unseal(sealed, tenant="platform", kid=KEY.kid) == KEY.private_jwk


def test_tenant_and_kid_are_bound() -> None:
    ring = KeyRing(OLD)
    sealed = ring.seal(KEY.private_jwk, tenant="platform", kid=KEY.kid)
    with pytest.raises(KeyEncryptionError):
        ring.unseal(sealed, tenant="zaanstreek", kid=KEY.kid)
    with pytest.raises(KeyEncryptionError):
        ring.unseal(sealed, tenant="platform", kid="another-kid")
    tampered = {**sealed, "ciphertext": sealed["ciphertext"][:-2] + "AA"}
    with pytest.raises(KeyEncryptionError, match="altered"):
        ring.unseal(tampered, tenant="platform", kid=KEY.kid)


def test_a_wrong_kek_does_not_open_a_key() -> None:
    sealed = KeyRing(OLD).seal(KEY.private_jwk, tenant="platform", kid=KEY.kid)
    with pytest.raises(KeyEncryptionError, match=f"{OLD.id}, which is not configured"):
        KeyRing(NEW).unseal(sealed, tenant="platform", kid=KEY.kid)
    # A KEK that claims the same id but is another key is refused as well.
    impostor = {**sealed, "kek": NEW.id}
    with pytest.raises(KeyEncryptionError, match="does not open"):
        KeyRing(NEW).unseal(impostor, tenant="platform", kid=KEY.kid)


def test_kek_rotation_rewraps_the_data_key_only() -> None:
    sealed = KeyRing(OLD).seal(KEY.private_jwk, tenant="platform", kid=KEY.kid)
    rotating = KeyRing.parse(f"{NEW.encode()}, {OLD.encode()}")
    assert rotating.current == NEW and rotating.previous == (OLD,)
    assert not rotating.is_current(sealed)
    rewrapped = rotating.rewrap(sealed, tenant="platform", kid=KEY.kid)
    assert rewrapped["kek"] == NEW.id and rotating.is_current(rewrapped)
    assert rewrapped["ciphertext"] == sealed["ciphertext"]  # the JWK is not re-encrypted
    assert rewrapped["dek"] != sealed["dek"]
    assert KeyRing(NEW).unseal(rewrapped, tenant="platform", kid=KEY.kid) == KEY.private_jwk
    assert rotating.rewrap(rewrapped, tenant="platform", kid=KEY.kid) == rewrapped


@pytest.mark.parametrize("value", ["", "  ,  ", "not base64 at all!", "c2hvcnQ", OLD.encode()[:-4]])
def test_malformed_keys_are_refused_clearly(value: str) -> None:
    with pytest.raises(KeyEncryptionError):
        KeyRing.parse(value)


def settings(**values: object) -> Settings:
    return Settings(login_code_pepper=PEPPER, **values)  # type: ignore[arg-type]


def test_the_kek_comes_from_the_variable_then_the_file(tmp_path: Path) -> None:
    file = tmp_path / "kek"
    file.write_text(f"{NEW.encode()}\n{OLD.encode()}\n")
    from_file = load_key_ring(settings(env="prod", identity_key_encryption_key_file=file))
    assert from_file is not None and from_file.current == NEW and from_file.previous == (OLD,)
    both = settings(
        env="prod", identity_key_encryption_key=OLD.encode(), identity_key_encryption_key_file=file
    )
    from_variable = load_key_ring(both)
    assert from_variable is not None and from_variable.current == OLD
    with pytest.raises(KeyEncryptionError, match="cannot read"):
        load_key_ring(settings(env="prod", identity_key_encryption_key_file=tmp_path / "none"))


def test_outside_dev_and_test_there_is_no_default_kek() -> None:
    assert load_key_ring(settings(env="prod")) is None


def test_test_mode_derives_one_kek_from_the_pepper() -> None:
    first, second = load_key_ring(settings(env="test")), load_key_ring(settings(env="test"))
    assert first is not None and first == second
    other = load_key_ring(Settings(env="test", login_code_pepper="another-" + "y" * 40))
    assert other is not None and other.current != first.current


def test_dev_mode_generates_a_local_kek_file_once(tmp_path: Path) -> None:
    file = tmp_path / "data" / "identity" / "key-encryption-key"
    first = load_key_ring(settings(env="dev", identity_key_encryption_key_file=file))
    assert file.exists() and file.stat().st_mode & 0o777 == 0o600
    again = load_key_ring(settings(env="dev", identity_key_encryption_key_file=file))
    assert first is not None and first == again
    assert list(file.parent.iterdir()) == [file]  # no draft left behind
