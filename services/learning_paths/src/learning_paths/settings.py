"""Settings (`WK_*` environment variables), built in the composition root, never at import."""

from __future__ import annotations

from pydantic import Field
from wijkkracht_common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service_name: str = "learning_paths"
    http_port: int = 8003
    #: More requests at once than the platform's 16: xAPI batches mostly wait for their
    #: group's transaction, and more of them share one (bench_learning_paths: 2,880
    #: statements/s with 16 clients, 3,589/s with 32).
    max_concurrent_requests: int = Field(default=32, ge=0)
    #: The social map's public API, for local offer steps (the resident's own token is
    #: passed on, so the social map applies its own rules); empty: no local offers.
    social_map_url: str = "http://127.0.0.1:8005/social-map/v1"
    #: Homework due within this many days gets a reminder (one mail per person per pass).
    reminder_days_before: float = Field(default=2.0, gt=0)
    #: How often reminders and weekly digests are composed (seconds).
    reminder_interval_seconds: float = Field(default=3600.0, gt=0)
    #: Identity's token endpoint: xAPI clients that authenticate with HTTP Basic (client id
    #: and secret) get their client-credentials token there. Empty: `<issuer>/oauth/token`.
    token_url: str = ""
    #: Public base URL of this service (cmi5 packages and printed pages link to it).
    public_url: str = "http://127.0.0.1:8003/learning-paths/v1"
    #: Demo tenant (dev only), seeded by `learning_paths.demo_seed`.
    demo_tenant: str = "demo"

    @property
    def token_endpoint(self) -> str:
        return self.token_url or f"{self.issuer.rstrip('/')}/oauth/token"
