"""The tenant's privacy policy: the minimum group size k for anything published."""

from __future__ import annotations

from dataclasses import dataclass

from effect_measurement.domain.texts import DomainError, Text

DEFAULT_K = 10
MINIMUM_K = 5  # a tenant may raise k, never lower it below this floor
MAXIMUM_K = 1000


def validate_k(k: int, field: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not MINIMUM_K <= k <= MAXIMUM_K:
        raise DomainError(
            Text(
                f"k moet een geheel getal van {MINIMUM_K} tot en met {MAXIMUM_K} zijn.",
                f"k must be a whole number from {MINIMUM_K} to {MAXIMUM_K}.",
            ),
            field,
        )
    return k


@dataclass(frozen=True, slots=True)
class PrivacyPolicy:
    k: int = DEFAULT_K

    def __post_init__(self) -> None:
        validate_k(self.k)

    def effective_k(self, requested: int | None) -> int:
        """A query may ask for a stricter k than the tenant's, never a looser one."""
        return self.k if requested is None else max(self.k, requested)


def clamp_k(k: int) -> int:
    """A k from elsewhere (a tenant's creation) brought into range: never below the floor."""
    return min(max(k, MINIMUM_K), MAXIMUM_K)


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """A tenant's privacy settings: its policy, and the organisations that opted in to be
    named (not "Organisatie A") in benchmarks and reports."""

    policy: PrivacyPolicy = PrivacyPolicy()
    named: frozenset[str] = frozenset()
