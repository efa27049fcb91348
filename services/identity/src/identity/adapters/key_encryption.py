"""Envelope encryption of the private signing keys at rest (AES-256-GCM, `cryptography`).

Each private JWK is encrypted with its own random data key (DEK); the DEK is encrypted
("wrapped") with the key-encryption key (KEK), which never enters the database. Both
encryptions bind the tenant of the database and the key's `kid` as associated data, so a
sealed key copied to another record or database does not decrypt. Rotating the KEK re-wraps
the DEKs only (`KeyRing.rewrap`): the encrypted JWKs stay as they are.

A `KeyRing` holds the current KEK (seals and re-wraps) and, during a KEK rotation, previous
ones (unseal only). Configured as base64url strings of 32 random bytes, the current one
first, separated by commas or whitespace (see `kek_source`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
SCHEME = "A256GCM-envelope-v1"
_JWK_CONTEXT = b"wijkkracht/identity/signing-key/jwk/v1"
_DEK_CONTEXT = b"wijkkracht/identity/signing-key/dek/v1"


class KeyEncryptionError(RuntimeError):
    """A key-encryption key is missing, malformed or does not open a stored key."""


class KeyEncryptionMissing(KeyEncryptionError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aad(context: bytes, tenant: str, kid: str) -> bytes:
    return b"\x00".join((context, tenant.encode(), kid.encode()))


@dataclass(frozen=True)
class KeyEncryptionKey:
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise KeyEncryptionError(
                f"a key-encryption key is {KEY_BYTES} bytes (base64url), got {len(self.secret)}"
            )

    @property
    def id(self) -> str:
        """Names the KEK in sealed records without revealing anything about it."""
        return hmac.new(self.secret, b"wijkkracht kek id", hashlib.sha256).hexdigest()[:16]

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def decode(cls, text: str) -> KeyEncryptionKey:
        try:
            raw = _unb64(text.strip().replace("+", "-").replace("/", "_"))
        except (binascii.Error, ValueError):
            raise KeyEncryptionError("a key-encryption key must be base64url") from None
        return cls(raw)

    def encode(self) -> str:
        return _b64(self.secret)


@dataclass(frozen=True)
class KeyRing:
    current: KeyEncryptionKey
    previous: tuple[KeyEncryptionKey, ...] = ()

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """`new[,old...]`: the first seals, the others only open (during a KEK rotation)."""
        parts = [p for p in re.split(r"[\s,]+", text) if p]
        if not parts:
            raise KeyEncryptionMissing("the key-encryption key setting is empty")
        keys = [KeyEncryptionKey.decode(p) for p in parts]
        return cls(current=keys[0], previous=tuple(keys[1:]))

    def _by_id(self, kek_id: str, kid: str) -> KeyEncryptionKey:
        for key in (self.current, *self.previous):
            if key.id == kek_id:
                return key
        raise KeyEncryptionError(
            f"signing key {kid} is encrypted with key-encryption key {kek_id}, which is not "
            f"configured (configured: {', '.join(k.id for k in (self.current, *self.previous))})"
        )

    def seal(self, private_jwk: Mapping[str, Any], *, tenant: str, kid: str) -> dict[str, str]:
        """A new data key encrypts the JWK; the current KEK wraps the data key."""
        dek = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(dict(private_jwk), sort_keys=True, separators=(",", ":")).encode()
        ciphertext = AESGCM(dek).encrypt(nonce, plain, _aad(_JWK_CONTEXT, tenant, kid))
        return {
            "scheme": SCHEME,
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
            **self._wrap(dek, tenant=tenant, kid=kid),
        }

    def _wrap(self, dek: bytes, *, tenant: str, kid: str) -> dict[str, str]:
        nonce = os.urandom(NONCE_BYTES)
        wrapped = AESGCM(self.current.secret).encrypt(nonce, dek, _aad(_DEK_CONTEXT, tenant, kid))
        return {"kek": self.current.id, "dek_nonce": _b64(nonce), "dek": _b64(wrapped)}

    def _unwrap(self, sealed: Mapping[str, str], *, tenant: str, kid: str) -> bytes:
        if sealed.get("scheme") != SCHEME:
            raise KeyEncryptionError(f"signing key {kid}: unknown sealing {sealed.get('scheme')}")
        kek = self._by_id(sealed["kek"], kid)
        try:
            return AESGCM(kek.secret).decrypt(
                _unb64(sealed["dek_nonce"]), _unb64(sealed["dek"]), _aad(_DEK_CONTEXT, tenant, kid)
            )
        except InvalidTag:
            raise KeyEncryptionError(
                f"signing key {kid} does not open with key-encryption key {kek.id} "
                f"(altered, or sealed for another record)"
            ) from None

    def unseal(self, sealed: Mapping[str, str], *, tenant: str, kid: str) -> dict[str, Any]:
        dek = self._unwrap(sealed, tenant=tenant, kid=kid)
        try:
            plain = AESGCM(dek).decrypt(
                _unb64(sealed["nonce"]),
                _unb64(sealed["ciphertext"]),
                _aad(_JWK_CONTEXT, tenant, kid),
            )
        except InvalidTag:
            raise KeyEncryptionError(f"signing key {kid}: sealed key altered") from None
        jwk: dict[str, Any] = json.loads(plain)
        return jwk

    def is_current(self, sealed: Mapping[str, str]) -> bool:
        return sealed.get("kek") == self.current.id

    def rewrap(self, sealed: Mapping[str, str], *, tenant: str, kid: str) -> dict[str, str]:
        """The same sealed key with its data key wrapped by the current KEK."""
        if self.is_current(sealed):
            return dict(sealed)
        dek = self._unwrap(sealed, tenant=tenant, kid=kid)
        return {**sealed, **self._wrap(dek, tenant=tenant, kid=kid)}
