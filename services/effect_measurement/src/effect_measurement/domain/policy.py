"""The tenant's privacy policy: the minimum group size k for anything published, and the base
published counts are rounded to (`disclosure.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from effect_measurement.domain.texts import DomainError, Text

DEFAULT_K = 10
MINIMUM_K = 5  # a tenant may raise k, never lower it below this floor
MAXIMUM_K = 1000
#: Published counts are rounded to a multiple of this (1: not rounded). At most 10, so that
#: a published count (0 or at least k >= 5) never rounds to 0.
DEFAULT_ROUNDING_BASE = 5
MAXIMUM_ROUNDING_BASE = 10


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
    rounding_base: int = DEFAULT_ROUNDING_BASE

    def __post_init__(self) -> None:
        validate_k(self.k)
        if not 1 <= self.rounding_base <= MAXIMUM_ROUNDING_BASE:
            raise DomainError(
                Text(
                    f"De afrondingsbasis moet 1 tot en met {MAXIMUM_ROUNDING_BASE} zijn.",
                    f"The rounding base must be 1 to {MAXIMUM_ROUNDING_BASE}.",
                ),
                "rounding_base",
            )

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
