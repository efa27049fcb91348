"""A run of the freshness sweep for one tenant, as reported to whoever asked for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SweepReport:
    id: str
    tenant: str
    actor: str  # who asked: a person id, `client:<id>` or `system:social_map:cli`
    started_at: datetime
    finished_at: datetime
    policy_version: int  # the tenant's freshness policy when the run started
    checked: int  # entries whose check was due
    changed: int  # entries whose state changed (their transitions announced)
