"""Collections of identity's databases and their indexes.

Platform database `wk_identity_platform`: the tenant registry, platform-wide client names and
the signing key set (one issuer for the platform); it is also the `platform` tenant's own
database (platform operators). Every tenant database `wk_identity_<tenant>` holds the rest.
No index names `_id` (an engine we run on refuses every insert into such a collection, see
`docs/developer-guide.md`). Collections read inside transactions are declared, so they exist
before a transaction first reads them.
"""

from __future__ import annotations

from wijkkracht_common.storage import ASCENDING, IndexModel, IndexSpec

# platform database
TENANTS = "tenants"
CLIENT_NAMES = "client_names"  # platform-wide client id -> tenant (e.g. demo-frontend)
SIGNING_KEYS = "signing_keys"
ALLOWED_ORIGINS = "allowed_origins"  # CORS origin -> client ids (any tenant)

# tenant databases
ORGANISATIONS = "organisations"
TEAMS = "teams"
PEOPLE = "people"
EMAILS = "emails"  # normalised e-mail -> person id; `_id` uniqueness is the duplicate check
MEMBERSHIPS = "memberships"
CONSENTS = "consents"
CONSENT_GRANTED_KEYS = "granted_keys"  # query keys of the grants in force (caseload)
CLIENTS = "clients"
AUTH_CODES = "authorization_codes"
REFRESH_TOKENS = "refresh_tokens"
REVOKED_JTIS = "revoked_access_tokens"
LOGIN_CODES = "login_codes"
LOGIN_FAILURES = "login_failures"
LOGIN_NOTICES = "login_notices"  # account -> when its owner was last told of failed logins
NEIGHBOURHOODS = "neighbourhoods"
ACCESS_PROJECTION = "access_log_projection"  # AccessRecorded from every service
ERASURES = "erasures"  # erasure status per person tombstone: confirmations, completion
EXPORTS = "exports"  # export jobs: a part per service, then the archive

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(CLIENT_NAMES, (IndexModel([("tenant", ASCENDING)]),)),
    IndexSpec(TEAMS, (IndexModel([("organisation", ASCENDING)]),)),
    IndexSpec(PEOPLE, (IndexModel([("created_at", ASCENDING)]),)),
    IndexSpec(
        MEMBERSHIPS,
        (IndexModel([("person_id", ASCENDING)]), IndexModel([("organisation", ASCENDING)])),
    ),
    IndexSpec(CLIENTS, (IndexModel([("organisation", ASCENDING)]),)),
    IndexSpec(AUTH_CODES, (IndexModel([("expires_at", ASCENDING)]),)),
    IndexSpec(
        REFRESH_TOKENS,
        (IndexModel([("family_id", ASCENDING)]), IndexModel([("subject", ASCENDING)])),
    ),
    IndexSpec(REVOKED_JTIS, (IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),)),
    IndexSpec(LOGIN_CODES, (IndexModel([("person_id", ASCENDING)]),)),
    IndexSpec(
        LOGIN_FAILURES,
        (
            IndexModel([("account", ASCENDING), ("at", ASCENDING)]),
            IndexModel([("source", ASCENDING), ("at", ASCENDING)]),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
        ),
    ),
    IndexSpec(LOGIN_NOTICES),
    IndexSpec(ACCESS_PROJECTION, (IndexModel([("resident", ASCENDING), ("at", ASCENDING)]),)),
    IndexSpec(CONSENTS, (IndexModel([(CONSENT_GRANTED_KEYS, ASCENDING)]),)),
    IndexSpec(ERASURES),
    IndexSpec(EXPORTS, (IndexModel([("person_id", ASCENDING)]),)),
)
