"""Identity's settings (`WK_*` environment variables), built in the composition root."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from wijkkracht_common.settings import BaseServiceSettings

#: Dev-only defaults. Outside dev mode the service refuses to start while these are in use.
DEV_LOGIN_CODE_PEPPER = "dev-only-login-code-pepper-change-me"
DEMO_TENANT = "demo"
DEMO_PASSWORD = "wijkkracht-demo"
DEMO_BACKEND_SECRET = "demo-backend-secret"
#: The services that keep personal data: each answers erasure and export requests.
PERSONAL_DATA_SERVICES = (
    "questionnaires",
    "effect_measurement",
    "social_map",
    "learning_paths",
    "marketplace",
)


class Settings(BaseServiceSettings):
    service_name: str = "identity"
    http_port: int = 8001
    # `issuer` (inherited) is the public issuer URL, e.g. https://host/identity/v1: it is the
    # `iss` of every token and the base of every URL in the discovery document.

    #: HMAC key for assisted-registration login codes (never stored in the database).
    login_code_pepper: SecretStr = SecretStr(DEV_LOGIN_CODE_PEPPER)
    #: Key-encryption key (KEK) of the private signing keys: base64url of 32 random bytes.
    #: During a KEK rotation: "new,old" (the first seals, the others only open). Required
    #: outside dev and test (dev: a generated `.data/identity/key-encryption-key`; test:
    #: derived from the pepper). Never stored in the database.
    identity_key_encryption_key: SecretStr | None = None
    #: The same, from a file (e.g. a mounted secret); used when the variable above is unset.
    identity_key_encryption_key_file: Path | None = None
    #: Generate and store a signing key on first start. None: only in dev mode.
    generate_keys: bool | None = None
    #: How long a `next` key is published before `wk keys rotate` may promote it (verifiers'
    #: JWKS caches must have seen it) and how long a retired key stays published.
    key_min_published_seconds: int = 3600
    key_keep_retired_seconds: int = 3600

    # argon2id cost; lower only in tests and benchmarks.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    #: At most this many password hashes (or verifications) at once per process: each takes
    #: `argon2_memory_kib` (64 MiB) while it runs, so a burst of logins waits for a slot
    #: rather than exceeding the pod's memory. None: twice the CPUs the process may use
    #: (the container's CPU limit where one is set).
    password_hash_concurrency: int | None = Field(default=None, ge=1)

    # Login throttling (domain/login_throttle.py), per tenant: failures per (account, source)
    # and per source (client address) allowed without delay; then the source waits the first
    # delay, doubling per further failure up to the maximum. Failures count for
    # `login_failure_memory_seconds`. The owner gets a notice after
    # `login_notice_after_failures` failures of their account (all sources), at most once per
    # `login_notice_interval_seconds`.
    login_free_failures_per_account_source: int = Field(default=5, ge=1)
    login_free_failures_per_source: int = Field(default=20, ge=1)
    login_first_delay_seconds: float = Field(default=30.0, gt=0)
    login_max_delay_seconds: float = Field(default=900.0, gt=0)
    login_failure_memory_seconds: float = Field(default=6 * 3600.0, gt=0)
    login_notice_after_failures: int = Field(default=5, ge=1)
    login_notice_interval_seconds: float = Field(default=24 * 3600.0, ge=0)
    # How long a registered API client is served from memory by the token endpoint.
    client_cache_seconds: float = 10.0
    #: How long a rendered login form stays valid (its CSRF token's lifetime).
    login_form_max_age_seconds: int = 3600

    #: Services whose `person_data_erased` an erasure waits for before identity erases its
    #: own data (`WK_ERASURE_EXPECTED_SERVICES='["questionnaires", ...]'`). Fixed per
    #: erasure when it is requested.
    erasure_expected_services: list[str] = list(PERSONAL_DATA_SERVICES)
    #: An erasure still waiting for a service after this long is requested again (a new
    #: `person_erasure_requested`; erasing is idempotent in every service), and logged.
    erasure_reminder_hours: float = Field(default=24.0, gt=0)
    #: How often pending erasures are checked; 0 turns the reminders off.
    erasure_reminder_scan_seconds: float = Field(default=600.0, ge=0)
    #: How often completed erasures are purged from the event streams (every message that
    #: names the person, once every consumer acknowledged it) until none is left; then the
    #: person's id is forgotten and the erasure reads `completed`. 0 turns the job off.
    erasure_purge_scan_seconds: float = Field(default=10.0, ge=0)

    #: Services whose part an export waits for (`WK_EXPORT_EXPECTED_SERVICES`), fixed per
    #: export when it is requested; identity adds its own part.
    export_expected_services: list[str] = list(PERSONAL_DATA_SERVICES)
    #: A repeated export request gets the running export back for this long; after that a
    #: new request starts a new export (a service that never answers blocks nothing).
    export_running_hours: float = Field(default=24.0, gt=0)
    #: How often exports whose parts are all in but whose archive was not built (a crash
    #: in between) are assembled; 0 turns the job off.
    export_assembly_scan_seconds: float = Field(default=60.0, ge=0)

    #: Demo tenant slug (`wk demo seed`, dev mode only).
    demo_tenant: str = DEMO_TENANT
    #: The reference portal's confidential client `portal`, registered (or updated) by the
    #: demo seed when the secret is set (`make run` gives identity and the portal the same).
    portal_client_secret: SecretStr | None = None
    #: The portal's public base URL: redirect URI `<url>/callback`, post-logout `<url>/`.
    portal_public_url: str = "http://127.0.0.1:8080"

    @property
    def may_generate_keys(self) -> bool:
        return self.is_dev if self.generate_keys is None else self.generate_keys
