"""OpenID Connect rules without I/O: key sets of two algorithms, RS256 ID tokens with `sid`,
introspection answers (RFC 7662) and RP-initiated logout decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from identity.domain.api_clients import ApiClient, new_public_client
from identity.domain.authorization_request import (
    AuthorizationRequest,
    issue_authorization_code,
    validate_authorization_request,
)
from identity.domain.introspection import (
    INACTIVE,
    access_token_claims_of,
    describe_access_token,
    describe_refresh_token,
)
from identity.domain.jwt_tokens import id_token_claims, sign
from identity.domain.logout import (
    LogoutRejected,
    LogoutRequest,
    decide_logout,
    id_token_claims_of,
    with_state,
)
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.oauth_records import Subject, lookup_hash
from identity.domain.pkce import s256_challenge
from identity.domain.signing_keys import (
    KeySet,
    KeyStatus,
    generate_signing_key,
)
from identity.domain.token_grants import exchange_authorization_code
from joserfc.jws import extract_compact

from .conftest import NOW, REDIRECT, SeededRandom

VERIFIER = "correct-horse-battery-staple-0123456789-abcdef"
LOGGED_OUT = "https://good.example/logged-out"


def header(token: str) -> dict[str, Any]:
    return dict(extract_compact(token.encode()).protected)


def payload(token: str) -> dict[str, Any]:
    return dict(json.loads(extract_compact(token.encode()).payload))


@pytest.fixture(scope="module")
def both() -> KeySet:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    return KeySet.merged(KeySet.bootstrap(at), KeySet.bootstrap(at, alg="RS256"))


def client_with(rng: SeededRandom, **extra: Any) -> ApiClient:
    return new_public_client(
        tenant="demo",
        organisation="de-smd",
        name="Wijkapp",
        redirect_uris=[REDIRECT],
        allowed_origins=[],
        scopes=["openid", "profile", "offline_access"],
        now=NOW,
        source=rng,
        **extra,
    )


def login(
    client: ApiClient, keys: KeySet, policy: OAuthPolicy, subject: Subject, rng: SeededRandom
) -> dict[str, Any]:
    request = AuthorizationRequest.from_query(
        [
            ("client_id", client.client_id),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile offline_access"),
            ("code_challenge", s256_challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ]
    )
    validated = validate_authorization_request(request, client, policy)
    code, record = issue_authorization_code(
        validated, subject=subject.person_id, auth_time=NOW, now=NOW, policy=policy, source=rng
    )
    outcome = exchange_authorization_code(
        client=client,
        code=code,
        code_record=record,
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
        subject=subject,
        keys=keys,
        policy=policy,
        now=NOW,
        source=rng,
    )
    assert outcome.response is not None
    body = outcome.response.body()
    body["refresh_record"] = outcome.writes[1].record  # type: ignore[union-attr]
    return body


# ---- key sets of two algorithms --------------------------------------------------------------


def test_a_key_set_holds_an_active_key_of_each_algorithm(both: KeySet) -> None:
    assert both.algorithms == ["ES256", "RS256"]
    assert both.active_key().alg == "ES256"  # the default signs access tokens
    assert both.active_key("RS256").alg == "RS256"
    assert {k["kty"] for k in both.jwks()["keys"]} == {"EC", "RSA"}
    with pytest.raises(ValueError):  # still one active key per algorithm
        KeySet.merged(both, KeySet.bootstrap(NOW, alg="RS256"))


def test_each_algorithm_rotates_on_its_own(both: KeySet) -> None:
    es_kid, rs_kid = both.active_key("ES256").kid, both.active_key("RS256").kid
    rs_next = generate_signing_key(NOW, alg="RS256")
    keys = both.with_next(rs_next)
    assert keys.next_key("ES256") is None and keys.next_key("RS256") == rs_next
    keys = keys.with_next(generate_signing_key(NOW))  # the ES256 next beside it
    promoted = keys.promote(NOW + timedelta(hours=2), alg="RS256")
    statuses = {k.kid: k.status for k in promoted.keys}
    assert statuses[rs_kid] is KeyStatus.RETIRED and statuses[rs_next.kid] is KeyStatus.ACTIVE
    assert statuses[es_kid] is KeyStatus.ACTIVE  # the other algorithm is untouched


# ---- RS256 ID tokens ---------------------------------------------------------------------------


def test_id_tokens_use_the_clients_algorithm_and_name_the_login(
    both: KeySet, policy: OAuthPolicy, subject_factory: Any, rng: SeededRandom
) -> None:
    subject = subject_factory()
    rs_client = client_with(rng, id_token_signed_response_alg="RS256")
    tokens = login(rs_client, both, policy, subject, rng)
    assert header(tokens["id_token"])["alg"] == "RS256"
    assert header(tokens["id_token"])["kid"] == both.active_key("RS256").kid
    assert header(tokens["access_token"])["alg"] == "ES256"  # every service verifies these
    assert payload(tokens["id_token"])["sid"] == tokens["refresh_record"].family_id

    default = login(client_with(rng), both, policy, subject, rng)
    assert header(default["id_token"])["alg"] == "ES256"


def test_a_client_registers_exact_post_logout_redirect_uris(rng: SeededRandom) -> None:
    client = client_with(rng, post_logout_redirect_uris=[LOGGED_OUT])
    assert client.has_post_logout_redirect_uri(LOGGED_OUT)
    assert not client.has_post_logout_redirect_uri(LOGGED_OUT + "/")
    with pytest.raises(ValueError, match=r"https"):
        client_with(rng, post_logout_redirect_uris=["http://evil.example/out"])


# ---- introspection -----------------------------------------------------------------------------


def test_introspection_answers(
    both: KeySet, policy: OAuthPolicy, subject_factory: Any, rng: SeededRandom
) -> None:
    client = client_with(rng)
    server = client_with(rng)
    tokens = login(client, both, policy, subject_factory(), rng)
    claims = access_token_claims_of(tokens["access_token"], both.jwks(), policy=policy, now=NOW)
    assert claims is not None
    active = describe_access_token(server, claims, revoked=False)
    assert active["active"] is True and active["client_id"] == client.client_id
    assert active["sub"] == "p-1" and active["token_type"] == "Bearer"
    assert describe_access_token(server, claims, revoked=True) == INACTIVE
    other_tenant = server.model_copy(update={"tenant": "elders"})
    assert describe_access_token(other_tenant, claims, revoked=False) == INACTIVE
    later = NOW + timedelta(minutes=16)
    assert (
        access_token_claims_of(tokens["access_token"], both.jwks(), policy=policy, now=later)
        is None
    )
    assert access_token_claims_of(tokens["id_token"], both.jwks(), policy=policy, now=NOW) is None

    record = tokens["refresh_record"]
    refresh = tokens["refresh_token"]
    assert record.token_hash == lookup_hash(refresh)
    mine = describe_refresh_token(client, refresh, record, policy=policy, now=NOW)
    assert mine["active"] is True and mine["token_type"] == "refresh_token"
    assert describe_refresh_token(server, refresh, record, policy=policy, now=NOW) == INACTIVE
    rotated = record.model_copy(update={"rotated_at": NOW})
    assert describe_refresh_token(client, refresh, rotated, policy=policy, now=NOW) == INACTIVE
    expired = NOW + timedelta(days=15)
    assert describe_refresh_token(client, refresh, record, policy=policy, now=expired) == INACTIVE


# ---- RP-initiated logout ------------------------------------------------------------------------


def hint_for(client: ApiClient, keys: KeySet, policy: OAuthPolicy, **extra: Any) -> str:
    claims = id_token_claims(
        issuer=policy.issuer,
        subject="p-1",
        client_id=client.client_id,
        now=NOW,
        lifetime=timedelta(minutes=15),
        auth_time=NOW,
        nonce=None,
        tenant=client.tenant,
        sid="family-1",
    )
    return sign({**claims, **extra}, keys, alg=client.id_token_signed_response_alg)


def test_logout_ends_the_hinted_login_and_returns_with_state(
    both: KeySet, policy: OAuthPolicy, rng: SeededRandom
) -> None:
    client = client_with(
        rng, post_logout_redirect_uris=[LOGGED_OUT], id_token_signed_response_alg="RS256"
    )
    hint = hint_for(client, both, policy)
    later = NOW + timedelta(days=1)  # an expired hint still names the login
    claims = id_token_claims_of(hint, both.jwks(), policy=policy, now=later)
    request = LogoutRequest.from_pairs(
        [("id_token_hint", hint), ("post_logout_redirect_uri", LOGGED_OUT), ("state", "s 1")]
    )
    decision = decide_logout(request, hint_claims=claims, client=client, policy=policy)
    assert decision.redirect_to == LOGGED_OUT + "?state=s+1"
    assert decision.ended is not None
    assert (decision.ended.subject, decision.ended.sid) == ("p-1", "family-1")
    assert decision.ended.access_expires_at == NOW + timedelta(minutes=15)
    assert with_state(LOGGED_OUT + "?a=1", None) == LOGGED_OUT + "?a=1"


def test_logout_requests_that_are_refused(
    both: KeySet, policy: OAuthPolicy, rng: SeededRandom
) -> None:
    client = client_with(rng, post_logout_redirect_uris=[LOGGED_OUT])
    other = client_with(rng, post_logout_redirect_uris=[LOGGED_OUT])
    claims = id_token_claims_of(hint_for(client, both, policy), both.jwks(), policy=policy, now=NOW)

    def refused(request: LogoutRequest, found: ApiClient | None = client) -> None:
        with pytest.raises(LogoutRejected):
            decide_logout(request, hint_claims=claims, client=found, policy=policy)

    refused(LogoutRequest(post_logout_redirect_uri="https://evil.example/out"))
    refused(LogoutRequest(client_id=other.client_id))  # the hint names another client
    refused(LogoutRequest(), found=None)  # its client is gone
    refused(LogoutRequest(), found=client.model_copy(update={"disabled": True}))
    refused(LogoutRequest(state="s" * 600))
    with pytest.raises(LogoutRejected):
        decide_logout(
            LogoutRequest(post_logout_redirect_uri=LOGGED_OUT),
            hint_claims=None,
            client=None,
            policy=policy,
        )
    with pytest.raises(LogoutRejected):
        LogoutRequest.from_pairs([("state", "a"), ("state", "b")])
    # forged, foreign or not an ID token
    stranger = KeySet.bootstrap(NOW)
    for hint in (
        hint_for(client, stranger, policy),
        hint_for(client, both, OAuthPolicy(issuer="https://elders.example")),
        sign(payload(hint_for(client, both, policy)), both, typ="at+jwt"),
        "not-a-token",
    ):
        with pytest.raises(LogoutRejected):
            id_token_claims_of(hint, both.jwks(), policy=policy, now=NOW)
    # nothing asked but the page: nothing ended, no redirect
    plain = decide_logout(LogoutRequest(), hint_claims=None, client=None, policy=policy)
    assert plain.ended is None and plain.redirect_to is None
