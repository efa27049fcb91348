"""Injectable randomness: production uses ``secrets``; tests pass a deterministic source."""

from __future__ import annotations

import base64
import secrets
from typing import Protocol


class RandomSource(Protocol):
    def token_bytes(self, n: int) -> bytes: ...

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        ...


class SystemRandom:
    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def below(self, n: int) -> int:
        return secrets.randbelow(n)


SYSTEM_RANDOM = SystemRandom()


def token_urlsafe(source: RandomSource, n_bytes: int = 32) -> str:
    """Base64url without padding, like ``secrets.token_urlsafe`` but from an injectable source."""
    return base64.urlsafe_b64encode(source.token_bytes(n_bytes)).rstrip(b"=").decode("ascii")
