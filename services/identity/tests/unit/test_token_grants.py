from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from identity.domain.api_clients import ApiClient
from identity.domain.authorization_request import (
    AuthorizationRequest,
    issue_authorization_code,
    validate_authorization_request,
)
from identity.domain.jwt_tokens import verify
from identity.domain.oauth_errors import OAuthError, OAuthErrorCode
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.oauth_records import (
    AuthorizationCode,
    GrantOutcome,
    MarkCodeUsed,
    MarkRefreshRotated,
    RefreshToken,
    RevokeAccessToken,
    RevokeRefreshFamily,
    StoreRefreshToken,
    Subject,
    lookup_hash,
)
from identity.domain.pkce import s256_challenge
from identity.domain.randomness import RandomSource
from identity.domain.signing_keys import KeySet
from identity.domain.token_grants import (
    authenticate_client,
    client_credentials_grant,
    exchange_authorization_code,
    refresh_access_token,
    revoke_token,
)
from joserfc import jwt

VERIFIER = "correct-horse-battery-staple-0123456789-abcdef"
REDIRECT = "https://good.example/callback"


@dataclass
class Flow:
    """Minimal in-memory 'adapter': applies writes the way the Mongo adapter will."""

    client: ApiClient
    keys: KeySet
    policy: OAuthPolicy
    rng: RandomSource
    subject: Subject
    codes: dict[str, AuthorizationCode]
    refresh: dict[str, RefreshToken]
    denied_jtis: set[str]

    def authorize(self, now: datetime, scope: str = "openid profile offline_access") -> str:
        request = AuthorizationRequest.from_query(
            [
                ("client_id", self.client.client_id),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", scope),
                ("state", "s"),
                ("nonce", "nonce-1"),
                ("code_challenge", s256_challenge(VERIFIER)),
                ("code_challenge_method", "S256"),
            ]
        )
        validated = validate_authorization_request(request, self.client, self.policy)
        code, record = issue_authorization_code(
            validated,
            subject=self.subject.person_id,
            auth_time=now - timedelta(seconds=5),
            now=now,
            policy=self.policy,
            source=self.rng,
        )
        self.codes[record.code_hash] = record
        return code

    def exchange(
        self,
        code: str,
        now: datetime,
        verifier: str | None = VERIFIER,
        redirect_uri: str | None = REDIRECT,
    ) -> GrantOutcome:
        outcome = exchange_authorization_code(
            client=self.client,
            code=code,
            code_record=self.codes.get(lookup_hash(code)),
            redirect_uri=redirect_uri,
            code_verifier=verifier,
            subject=self.subject,
            keys=self.keys,
            policy=self.policy,
            now=now,
            source=self.rng,
        )
        self.apply(outcome)
        return outcome

    def use_refresh(self, token: str, now: datetime, scope: str | None = None) -> GrantOutcome:
        outcome = refresh_access_token(
            client=self.client,
            presented_token=token,
            record=self.refresh.get(lookup_hash(token)),
            requested_scope=scope,
            subject=self.subject,
            keys=self.keys,
            policy=self.policy,
            now=now,
            source=self.rng,
        )
        self.apply(outcome)
        return outcome

    def apply(self, outcome: GrantOutcome) -> None:
        for write in outcome.writes:
            match write:
                case MarkCodeUsed():
                    self.codes[write.code_hash] = self.codes[write.code_hash].model_copy(
                        update={
                            "used_at": write.used_at,
                            "issued_jti": write.issued_jti,
                            "issued_jti_expires_at": write.issued_jti_expires_at,
                            "issued_family_id": write.issued_family_id,
                        }
                    )
                case StoreRefreshToken():
                    self.refresh[write.record.token_hash] = write.record
                case MarkRefreshRotated():
                    self.refresh[write.token_hash] = self.refresh[write.token_hash].model_copy(
                        update={"rotated_at": write.rotated_at}
                    )
                case RevokeRefreshFamily():
                    for key, record in list(self.refresh.items()):
                        if record.family_id == write.family_id:
                            self.refresh[key] = record.model_copy(
                                update={"revoked_at": write.revoked_at}
                            )
                            self.denied_jtis.add(record.access_jti)
                case RevokeAccessToken():
                    self.denied_jtis.add(write.jti)

    def family_revoked(self, family_id: str) -> bool:
        members = [r for r in self.refresh.values() if r.family_id == family_id]
        return bool(members) and all(r.revoked_at is not None for r in members)


@pytest.fixture
def flow(
    public_client: ApiClient,
    keys: KeySet,
    policy: OAuthPolicy,
    rng: RandomSource,
    subject_factory: Callable[..., Subject],
) -> Flow:
    return Flow(public_client, keys, policy, rng, subject_factory(), {}, {}, set())


def claims_of(
    token: str, flow: Flow, now: datetime, typ: str = "at+jwt", audience: str | None = None
) -> dict[str, Any]:
    return verify(
        token,
        flow.keys.jwks(),
        issuer=flow.policy.issuer,
        audience=audience or flow.policy.audience,
        now=now,
        typ=typ,
    )


def error_code(outcome: GrantOutcome) -> OAuthErrorCode:
    assert outcome.response is None and outcome.error is not None
    return outcome.error.code


# ---- authorization code ----------------------------------------------------------------


def test_code_exchange_issues_access_id_and_refresh_tokens(flow: Flow, now: datetime) -> None:
    code = flow.authorize(now)
    outcome = flow.exchange(code, now + timedelta(seconds=10))
    assert outcome.error is None and outcome.response is not None
    body = outcome.response.body()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    access = claims_of(body["access_token"], flow, now + timedelta(seconds=10))
    assert access["sub"] == "p-1" and access["tenant"] == "demo"
    assert (
        access["client_id"] == flow.client.client_id
        and access["scope"] == "offline_access openid profile"
    )
    assert access["roles"] == ["professional", "resident"]
    assert access["orgs"] == {"buurtwerk": ["resident"], "de-smd": ["professional"]}
    assert access["exp"] - access["iat"] == 900 and access["nbf"] == access["iat"]
    assert isinstance(access["jti"], str) and len(access["jti"]) >= 16
    id_claims = claims_of(
        body["id_token"],
        flow,
        now + timedelta(seconds=10),
        typ="JWT",
        audience=flow.client.client_id,
    )
    assert id_claims["nonce"] == "nonce-1" and id_claims["aud"] == flow.client.client_id
    assert id_claims["auth_time"] == int((now - timedelta(seconds=5)).timestamp())
    assert body["refresh_token"].startswith("demo.")
    assert body["refresh_token"] not in str(flow.refresh)


def test_id_token_cannot_be_used_as_access_token(flow: Flow, now: datetime) -> None:
    response = flow.exchange(flow.authorize(now), now).response
    assert response is not None and response.id_token is not None
    with pytest.raises(ValueError):
        claims_of(response.id_token, flow, now)


def test_no_id_token_without_openid(flow: Flow, now: datetime) -> None:
    response = flow.exchange(flow.authorize(now, scope="questionnaires"), now).response
    assert response is not None and response.id_token is None


def test_pkce_verifier_mismatch_rejected(flow: Flow, now: datetime) -> None:
    code = flow.authorize(now)
    assert error_code(flow.exchange(code, now, verifier="x" * 43)) is OAuthErrorCode.INVALID_GRANT
    assert error_code(flow.exchange(code, now, verifier=None)) is OAuthErrorCode.INVALID_GRANT
    # "plain" style: sending the challenge itself as verifier
    assert (
        error_code(flow.exchange(code, now, verifier=s256_challenge(VERIFIER)))
        is OAuthErrorCode.INVALID_GRANT
    )
    assert flow.exchange(code, now).response is not None  # the rightful client still succeeds


@pytest.mark.parametrize(
    "redirect",
    [
        None,
        "https://good.example/callback.evil.example",
        "https://good.example/callback?x=1",
        "http://localhost:5173/cb",
    ],
)
def test_redirect_uri_must_match_the_authorization_request(
    flow: Flow, now: datetime, redirect: str | None
) -> None:
    code = flow.authorize(now)
    assert (
        error_code(flow.exchange(code, now, redirect_uri=redirect)) is OAuthErrorCode.INVALID_GRANT
    )


def test_expired_code_rejected(flow: Flow, now: datetime) -> None:
    code = flow.authorize(now)
    assert (
        error_code(flow.exchange(code, now + timedelta(seconds=60))) is OAuthErrorCode.INVALID_GRANT
    )
    assert flow.exchange(code, now + timedelta(seconds=59)).response is not None


def test_reused_code_is_rejected_and_revokes_what_it_issued(flow: Flow, now: datetime) -> None:
    code = flow.authorize(now)
    first = flow.exchange(code, now)
    assert first.response is not None
    jti = claims_of(first.response.access_token, flow, now)["jti"]
    family = next(iter(flow.refresh.values())).family_id

    replay = flow.exchange(code, now + timedelta(seconds=20))
    assert error_code(replay) is OAuthErrorCode.INVALID_GRANT
    assert any(
        isinstance(w, RevokeRefreshFamily) and w.reason == "code_reuse" for w in replay.writes
    )
    assert jti in flow.denied_jtis
    assert flow.family_revoked(family)
    assert first.response.refresh_token is not None
    assert error_code(
        flow.use_refresh(first.response.refresh_token, now + timedelta(minutes=1))
    ) is (OAuthErrorCode.INVALID_GRANT)


def test_code_of_another_client_or_unknown_code(
    flow: Flow, now: datetime, confidential: tuple[str, ApiClient]
) -> None:
    code = flow.authorize(now)
    record = flow.codes[lookup_hash(code)]
    other = confidential[1]
    outcome = exchange_authorization_code(
        client=other,
        code=code,
        code_record=record,
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
        subject=flow.subject,
        keys=flow.keys,
        policy=flow.policy,
        now=now,
        source=flow.rng,
    )
    assert outcome.error is not None and outcome.writes == ()
    assert error_code(flow.exchange("demo.not-a-code", now)) is OAuthErrorCode.INVALID_GRANT


def test_inactive_subject_gets_no_tokens(
    flow: Flow, now: datetime, subject_factory: Callable[..., Subject]
) -> None:
    code = flow.authorize(now)
    flow.subject = subject_factory(active=False)
    assert error_code(flow.exchange(code, now)) is OAuthErrorCode.INVALID_GRANT


def test_subject_of_other_tenant_is_refused(
    flow: Flow, now: datetime, subject_factory: Callable[..., Subject]
) -> None:
    code = flow.authorize(now)
    flow.subject = subject_factory(tenant="zaanstreek")
    assert error_code(flow.exchange(code, now)) is OAuthErrorCode.INVALID_GRANT


# ---- refresh tokens ----------------------------------------------------------------------


def test_refresh_rotates_within_the_family(flow: Flow, now: datetime) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None and first.refresh_token is not None
    later = now + timedelta(minutes=20)
    second = flow.use_refresh(first.refresh_token, later)
    assert second.response is not None and second.response.refresh_token not in (
        None,
        first.refresh_token,
    )
    old = flow.refresh[lookup_hash(first.refresh_token)]
    new = flow.refresh[lookup_hash(second.response.refresh_token or "")]
    assert old.rotated_at == later and new.family_id == old.family_id
    assert new.family_expires_at == old.family_expires_at
    assert claims_of(second.response.access_token, flow, later)["sub"] == "p-1"


def test_refresh_reuse_revokes_the_whole_family(flow: Flow, now: datetime) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None and first.refresh_token is not None
    second = flow.use_refresh(first.refresh_token, now + timedelta(minutes=1)).response
    assert second is not None and second.refresh_token is not None

    stolen = flow.use_refresh(first.refresh_token, now + timedelta(minutes=2))
    assert error_code(stolen) is OAuthErrorCode.INVALID_GRANT
    assert stolen.writes and isinstance(stolen.writes[0], RevokeRefreshFamily)
    assert stolen.writes[0].reason == "reuse_detected"
    family = flow.refresh[lookup_hash(first.refresh_token)].family_id
    assert flow.family_revoked(family)
    # the legitimate holder's newest token is dead too, and the access tokens are deny-listed
    assert error_code(flow.use_refresh(second.refresh_token, now + timedelta(minutes=3))) is (
        OAuthErrorCode.INVALID_GRANT
    )
    assert (
        claims_of(second.access_token, flow, now + timedelta(minutes=1))["jti"] in flow.denied_jtis
    )


def test_refresh_scope_can_narrow_not_widen(flow: Flow, now: datetime) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None and first.refresh_token is not None
    widened = flow.use_refresh(first.refresh_token, now, scope="openid questionnaires")
    assert error_code(widened) is OAuthErrorCode.INVALID_SCOPE
    narrowed = flow.use_refresh(first.refresh_token, now, scope="openid")
    assert narrowed.response is not None and narrowed.response.scope == "openid"
    new = flow.refresh[lookup_hash(narrowed.response.refresh_token or "")]
    assert new.scopes == ("offline_access", "openid", "profile")


def test_refresh_expiry_and_erased_subject(
    flow: Flow, now: datetime, subject_factory: Callable[..., Subject]
) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None and first.refresh_token is not None
    assert error_code(flow.use_refresh(first.refresh_token, now + timedelta(days=14))) is (
        OAuthErrorCode.INVALID_GRANT
    )
    flow.subject = subject_factory(active=False)
    outcome = flow.use_refresh(first.refresh_token, now + timedelta(days=1))
    assert error_code(outcome) is OAuthErrorCode.INVALID_GRANT
    assert isinstance(outcome.writes[0], RevokeRefreshFamily)


def test_refresh_token_of_another_client_is_unknown(
    flow: Flow, now: datetime, confidential: tuple[str, ApiClient]
) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None and first.refresh_token is not None
    other = confidential[1].model_copy(
        update={"grant_types": ("refresh_token", "client_credentials")}
    )
    outcome = refresh_access_token(
        client=other,
        presented_token=first.refresh_token,
        record=flow.refresh[lookup_hash(first.refresh_token)],
        requested_scope=None,
        subject=flow.subject,
        keys=flow.keys,
        policy=flow.policy,
        now=now,
        source=flow.rng,
    )
    assert error_code(outcome) is OAuthErrorCode.INVALID_GRANT and outcome.writes == ()


# ---- client authentication and client credentials ------------------------------------


def test_client_authentication(
    public_client: ApiClient, confidential: tuple[str, ApiClient]
) -> None:
    secret, client = confidential
    assert authenticate_client(client, client_id=client.client_id, client_secret=secret) is client
    for presented in (None, "", secret[:-1], secret + "x"):
        with pytest.raises(OAuthError) as caught:
            authenticate_client(client, client_id=client.client_id, client_secret=presented)
        assert (
            caught.value.code is OAuthErrorCode.INVALID_CLIENT and caught.value.status_code == 401
        )
    assert authenticate_client(public_client, client_id=public_client.client_id, client_secret=None)
    with pytest.raises(OAuthError):
        authenticate_client(public_client, client_id=public_client.client_id, client_secret="guess")
    with pytest.raises(OAuthError):
        authenticate_client(None, client_id="demo.nobody", client_secret=secret)


def test_client_credentials_token(
    confidential: tuple[str, ApiClient],
    keys: KeySet,
    policy: OAuthPolicy,
    now: datetime,
    rng: RandomSource,
) -> None:
    _, client = confidential
    outcome = client_credentials_grant(
        client=client, requested_scope=None, keys=keys, policy=policy, now=now, source=rng
    )
    assert outcome.response is not None and outcome.response.refresh_token is None
    assert outcome.response.id_token is None and outcome.writes == ()
    claims = verify(
        outcome.response.access_token,
        keys.jwks(),
        issuer=policy.issuer,
        audience=policy.audience,
        now=now,
    )
    assert claims["sub"] == f"client:{client.client_id}" and claims["tenant"] == "demo"
    assert claims["roles"] == [] and claims["orgs"] == {"gemeente-demo": ["service"]}
    assert claims["scope"] == "effects.read"  # openid is meaningless without a person


def test_client_credentials_refusals(
    public_client: ApiClient,
    confidential: tuple[str, ApiClient],
    keys: KeySet,
    policy: OAuthPolicy,
    now: datetime,
    rng: RandomSource,
) -> None:
    def grant(client: ApiClient, scope: str | None) -> GrantOutcome:
        return client_credentials_grant(
            client=client, requested_scope=scope, keys=keys, policy=policy, now=now, source=rng
        )

    assert error_code(grant(public_client, None)) is OAuthErrorCode.UNAUTHORIZED_CLIENT
    assert error_code(grant(confidential[1], "effects.write")) is OAuthErrorCode.INVALID_SCOPE
    assert error_code(grant(confidential[1], "openid")) is OAuthErrorCode.INVALID_SCOPE


# ---- revocation (RFC 7009) --------------------------------------------------------------


def test_revoking_a_refresh_token_revokes_its_family(flow: Flow, now: datetime) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None and first.refresh_token is not None
    token = first.refresh_token
    writes = revoke_token(
        client=flow.client,
        token=token,
        refresh_record=flow.refresh[lookup_hash(token)],
        jwks=flow.keys.jwks(),
        policy=flow.policy,
        now=now,
    )
    assert writes == (
        RevokeRefreshFamily(flow.refresh[lookup_hash(token)].family_id, now, "revoked"),
    )


def test_revoking_an_access_token_by_jti(flow: Flow, now: datetime) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None
    jti = claims_of(first.access_token, flow, now)["jti"]
    writes = revoke_token(
        client=flow.client,
        token=first.access_token,
        refresh_record=None,
        jwks=flow.keys.jwks(),
        policy=flow.policy,
        now=now + timedelta(minutes=1),
    )
    assert len(writes) == 1 and isinstance(writes[0], RevokeAccessToken)
    assert writes[0].jti == jti and writes[0].expires_at == now + timedelta(minutes=15)


def test_revocation_ignores_foreign_expired_and_garbage_tokens(
    flow: Flow, now: datetime, confidential: tuple[str, ApiClient]
) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None and first.refresh_token is not None
    other = confidential[1]
    record = flow.refresh[lookup_hash(first.refresh_token)]
    args: dict[str, Any] = {"jwks": flow.keys.jwks(), "policy": flow.policy}
    assert (
        revoke_token(
            client=other, token=first.refresh_token, refresh_record=record, now=now, **args
        )
        == ()
    )
    assert (
        revoke_token(client=other, token=first.access_token, refresh_record=None, now=now, **args)
        == ()
    )
    later = now + timedelta(minutes=16)
    assert (
        revoke_token(
            client=flow.client, token=first.access_token, refresh_record=None, now=later, **args
        )
        == ()
    )
    assert (
        revoke_token(client=flow.client, token="garbage", refresh_record=None, now=now, **args)
        == ()
    )


def test_tampered_access_token_fails_verification(flow: Flow, now: datetime) -> None:
    first = flow.exchange(flow.authorize(now), now).response
    assert first is not None
    token = jwt.decode(first.access_token, flow.keys.active_key().private_key())
    forged_claims = dict(token.claims) | {"roles": ["tenant_admin"]}
    header, _, signature = first.access_token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
    with pytest.raises(ValueError):
        claims_of(f"{header}.{payload}.{signature}", flow, now)
