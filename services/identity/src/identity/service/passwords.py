"""Password hashing with argon2id (argon2-cffi).

Hashing and verifying cost tens of milliseconds of CPU on purpose. Callers in async code MUST
run these off the event loop (``await anyio.to_thread.run_sync(hasher.verify, ...)`` or
``asyncio.to_thread``), otherwise every login blocks all other requests of the process.
"""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordHasher:
    def __init__(
        self, *, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 4
    ) -> None:
        self._hasher = _Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """False on mismatch or on a corrupt stored hash (never raises for bad input)."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when parameters were raised since; rehash after a successful login."""
        return self._hasher.check_needs_rehash(password_hash)

    def dummy_verify(self, password: str) -> None:
        """Spend the same work when the account does not exist, so timing does not reveal it."""
        self.verify(self._dummy_hash(), password)

    def _dummy_hash(self) -> str:
        cached: str | None = getattr(self, "_dummy", None)
        if cached is None:
            cached = self._hasher.hash("wijkkracht-dummy-password")
            self._dummy = cached
        return cached
