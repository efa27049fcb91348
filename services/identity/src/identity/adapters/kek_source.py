"""Where the key-encryption key (KEK) of the signing keys comes from.

1. `WK_IDENTITY_KEY_ENCRYPTION_KEY`: the key(s) themselves (a secret in the environment).
2. `WK_IDENTITY_KEY_ENCRYPTION_KEY_FILE`: a file holding them (a mounted secret).
3. Neither, in dev: a local file `.data/identity/key-encryption-key`, generated on the first
   start (so `make run` works on a fresh machine and a second run opens the same keys).
4. Neither, in test: derived from the login-code pepper, so every process of a test run
   with the same settings opens the same keys without writing files.
Otherwise there is none, and identity refuses to start (`startup.check_database`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from pathlib import Path

from wijkkracht_common.observability import get_logger

from identity.adapters.key_encryption import (
    KeyEncryptionError,
    KeyEncryptionKey,
    KeyRing,
)
from identity.settings import Settings

DEV_KEK_FILE = Path(".data/identity/key-encryption-key")

log = get_logger(__name__)


def load_key_ring(settings: Settings) -> KeyRing | None:
    if settings.identity_key_encryption_key is not None:
        return KeyRing.parse(settings.identity_key_encryption_key.get_secret_value())
    path = settings.identity_key_encryption_key_file
    if path is not None and (path.exists() or not settings.is_dev):
        return KeyRing.parse(_read(path))
    if settings.is_dev:
        return KeyRing(_dev_key(path or DEV_KEK_FILE, settings))
    if settings.env == "test":
        return KeyRing(_derived(settings))
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise KeyEncryptionError(
            f"cannot read the key-encryption key file {path}: {error}"
        ) from None


def _derived(settings: Settings) -> KeyEncryptionKey:
    """Dev and test only: a KEK that follows from the pepper (no protection beyond it)."""
    pepper = settings.login_code_pepper.get_secret_value().encode()
    return KeyEncryptionKey(hmac.new(pepper, b"wijkkracht dev/test kek", hashlib.sha256).digest())


def _dev_key(path: Path, settings: Settings) -> KeyEncryptionKey:
    """Read the dev KEK file, or create it (owner-only, never overwriting one that another
    process created meanwhile: written beside it and linked into place)."""
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(KeyEncryptionKey.generate().encode() + "\n")
            try:
                os.link(draft, path)
                log.info("dev key-encryption key created", path=str(path))
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return KeyRing.parse(_read(path)).current
    except OSError as error:  # e.g. a read-only file system in a dev container
        log.warning(
            "dev key-encryption key file unusable; derived from the pepper", error=str(error)
        )
        return _derived(settings)
