"""Settings (`WK_*` environment variables), built in the composition root, never at import."""

from __future__ import annotations

from pydantic import Field
from wijkkracht_common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service_name: str = "marketplace"
    http_port: int = 8004
    demo_tenant: str = "demo"
    #: How often open posts are checked for the expiry reminder and for expiry.
    expiry_sweep_seconds: float = Field(default=300.0, gt=0)
    #: How often the digest of pending notifications is mailed (daily by default).
    digest_interval_seconds: float = Field(default=86_400.0, gt=0)
    #: How long a process keeps a tenant's neighbourhood table and categories (projections
    #: written by another replica show up within this time; this process's own at once).
    reference_refresh_seconds: float = Field(default=5.0, ge=0)
    #: Public address of the marketplace front end, used in mails.
    public_url: str = "http://localhost:8080/marketplace"
    #: Small-cell threshold until the tenant's own arrives (identity's `tenant_created`).
    default_k_anonymity: int = Field(default=10, ge=2)
    #: Published counts of the balance figures are rounded to this base (1: exact), as effect
    #: measurement's (`domain/balance.py`).
    balance_rounding_base: int = Field(default=5, ge=1)
