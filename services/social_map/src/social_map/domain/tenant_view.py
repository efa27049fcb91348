"""A tenant's configuration as use cases see it: the taxonomy (and its version), the text
analyzer built on it, and the freshness policy (and its version)."""

from __future__ import annotations

from dataclasses import dataclass

from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer


@dataclass(frozen=True, slots=True)
class TenantView:
    tenant: str
    taxonomy: Taxonomy
    taxonomy_version: int
    analyzer: Analyzer
    policy: FreshnessPolicy
    policy_version: int = 0  # 0: the default policy, never written
