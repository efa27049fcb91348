from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from identity.domain.memberships import Membership
from identity.domain.neighbourhoods import NeighbourhoodTable
from identity.domain.oauth_records import Subject
from identity.domain.oidc_discovery import discovery_document
from identity.domain.people import new_person
from identity.domain.roles import Role
from identity.domain.subjects import subject_for
from identity.domain.userinfo import userinfo_claims

ISSUER = "https://wijkkracht.example/identity/v1"


def test_discovery_document() -> None:
    doc = discovery_document(ISSUER + "/", extra_scopes=["questionnaires"])
    assert doc["issuer"] == ISSUER
    assert doc["token_endpoint"] == ISSUER + "/oauth/token"
    assert doc["jwks_uri"] == ISSUER + "/.well-known/jwks.json"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert "questionnaires" in doc["scopes_supported"] and "openid" in doc["scopes_supported"]
    assert doc["id_token_signing_alg_values_supported"] == ["ES256"]
    assert "none" in doc["token_endpoint_auth_methods_supported"]


def test_subject_from_person_filters_other_tenants(now: datetime) -> None:
    person = new_person(
        person_id="p-1", tenant="demo", display_name="Piet", now=now, table=NeighbourhoodTable()
    )
    memberships = [
        Membership(
            person_id="p-1", tenant="demo", organisation="de-smd", roles=frozenset({Role.RESIDENT})
        ),
        Membership(
            person_id="p-1",
            tenant="zaanstreek",
            organisation="elders",
            roles=frozenset({Role.TENANT_ADMIN}),
        ),
        Membership(
            person_id="p-2", tenant="demo", organisation="de-smd", roles=frozenset({Role.ORG_ADMIN})
        ),
    ]
    subject = subject_for(person, memberships)
    assert subject.roles == ("resident",) and subject.orgs == {"de-smd": ["resident"]}
    assert subject.active


def test_userinfo_respects_scopes(now: datetime, subject_factory: Callable[..., Subject]) -> None:
    person = new_person(
        person_id="p-1",
        tenant="demo",
        display_name="Piet",
        now=now,
        table=NeighbourhoodTable(),
        email="Piet@Example.nl",
    )
    subject = subject_factory()
    assert userinfo_claims(person, subject, {"profile"}) is None  # no openid
    minimal = userinfo_claims(person, subject, {"openid"})
    assert minimal == {
        "sub": "p-1",
        "tenant": "demo",
        "roles": ["professional", "resident"],
        "orgs": {"de-smd": ["professional"], "buurtwerk": ["resident"]},
    }
    full = userinfo_claims(person, subject, {"openid", "profile", "email"})
    assert full is not None and full["name"] == "Piet" and full["email"] == "piet@example.nl"
    assert userinfo_claims(person.erased(), subject, {"openid"}) is None
