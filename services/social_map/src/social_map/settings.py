"""Social map settings (`WK_*` environment variables), built in the composition root."""

from __future__ import annotations

from pydantic import Field, SecretStr
from wijkkracht_common.settings import BaseServiceSettings

#: Dev-only default; outside dev mode the service refuses to start with it.
DEV_VERIFICATION_SECRET = "dev-only-social-map-verification-secret-change-me"


class Settings(BaseServiceSettings):
    service_name: str = "social_map"
    http_port: int = 8005

    #: Master key of the one-click "klopt nog" links; a per-tenant key is derived from it.
    verification_secret: SecretStr = SecretStr(DEV_VERIFICATION_SECRET)
    verification_link_days: int = 30
    #: Lifetime of signed calendar-feed URLs (revocable per neighbourhood at any time).
    feed_link_days: int = 365
    #: Public base URL of this API as callers reach it (behind the ingress): every link in
    #: an e-mail, feed or page (verification links, calendar-feed URLs, `Location`) uses it.
    public_base_url: str = "http://127.0.0.1:8005/social-map/v1"
    #: Largest HSDS import body (JSON or zipped CSV package); bigger ones get 413 while they
    #: arrive. Other routes keep the platform's limit (`WK_MAX_REQUEST_BODY_BYTES`).
    import_max_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    #: How often the freshness sweep runs (seconds); it is idempotent, so any period works.
    freshness_sweep_seconds: float = 3600.0
    run_freshness_sweep: bool = True
    #: Move consents of the service's former projection into the platform's one (a job:
    #: at start-up, then hourly for replicas of the previous release still writing them).
    adopt_legacy_consents: bool = True
    #: Default search/recommendation radius and the demo tenant of `wk demo seed`.
    default_radius_km: float = 3.0
    #: Search index: how often (seconds) a replica looks for other replicas' writes.
    search_refresh_seconds: float = 1.0
    #: Build every tenant's search index in the background at start-up (searches of a
    #: tenant still warming wait for its build; everything else is served meanwhile).
    search_warm_at_startup: bool = True
    demo_tenant: str = "demo"

    def check_secrets(self) -> None:
        if not self.is_dev and (
            self.verification_secret.get_secret_value() == DEV_VERIFICATION_SECRET
        ):
            raise RuntimeError("WK_VERIFICATION_SECRET must be set outside dev mode")
