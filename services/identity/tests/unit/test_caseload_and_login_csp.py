"""Caseload lines derived from the consent ledger, the stored query keys of the grants in
force, and the login page's form-action for a validated redirect URI."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from identity.adapters.repositories import granted_keys
from identity.domain.caseload import caseload_entry
from identity.domain.consent import ConsentLedger, ConsentPurpose
from identity.domain.login_csp import login_page_csp, redirect_origin
from identity.domain.people import Person, PersonStatus

P = ConsentPurpose


def _person(now: datetime, **changes: object) -> Person:
    return Person.model_validate(
        {
            "id": "p-1",
            "tenant": "demo",
            "display_name": "Piet Pieters",
            "created_at": now,
            "neighbourhood_code": "DM01",
        }
        | changes
    )


def test_a_caseload_line_lists_the_purposes_in_force_and_since_when(now: datetime) -> None:
    later = now + timedelta(days=2)
    ledger = ConsentLedger(person_id="p-1")
    ledger, _ = ledger.grant("welzijn", P.SHARE_RESULTS, by="p-1", at=now)
    ledger, _ = ledger.grant("welzijn", P.MARKETPLACE_BROKER, by="broker-1", at=later)
    ledger, _ = ledger.grant("elders", P.RESEARCH, by="p-1", at=now)

    entry = caseload_entry(_person(now), ledger, "welzijn")
    assert entry is not None
    assert entry.purposes == (P.MARKETPLACE_BROKER, P.SHARE_RESULTS)  # not another org's
    assert entry.since == now  # the earliest grant in force
    assert entry.neighbourhood_code == "DM01" and entry.display_name == "Piet Pieters"

    only_broker = caseload_entry(_person(now), ledger, "welzijn", P.MARKETPLACE_BROKER)
    assert only_broker is not None and only_broker.since == later
    assert caseload_entry(_person(now), ledger, "welzijn", P.SHARE_WITH_GP) is None
    assert caseload_entry(_person(now), ledger, "nergens") is None


def test_a_revoked_and_regranted_purpose_counts_from_the_new_grant(now: datetime) -> None:
    ledger = ConsentLedger(person_id="p-1")
    ledger, _ = ledger.grant("welzijn", P.SHARE_RESULTS, by="p-1", at=now)
    ledger, _ = ledger.revoke("welzijn", P.SHARE_RESULTS, by="p-1", at=now + timedelta(hours=1))
    assert caseload_entry(_person(now), ledger, "welzijn") is None
    again = now + timedelta(days=1)
    ledger, _ = ledger.grant("welzijn", P.SHARE_RESULTS, by="p-1", at=again)
    entry = caseload_entry(_person(now), ledger, "welzijn")
    assert entry is not None and entry.since == again


def test_an_inactive_person_is_not_on_a_caseload(now: datetime) -> None:
    ledger, _ = ConsentLedger(person_id="p-1").grant("welzijn", P.RESEARCH, by="p-1", at=now)
    inactive = [s for s in PersonStatus if s is not PersonStatus.ACTIVE]
    for status in inactive:
        assert caseload_entry(_person(now, status=status), ledger, "welzijn") is None


def test_granted_keys_follow_the_grants_in_force(now: datetime) -> None:
    ledger = ConsentLedger(person_id="p-1")
    assert granted_keys(ledger) == []
    ledger, _ = ledger.grant("welzijn", P.SHARE_RESULTS, by="p-1", at=now)
    ledger, _ = ledger.grant("welzijn", P.MARKETPLACE_BROKER, by="p-1", at=now)
    assert granted_keys(ledger) == [
        "welzijn",
        "welzijn|marketplace_broker",
        "welzijn|share_results",
    ]
    ledger, _ = ledger.revoke("welzijn", P.SHARE_RESULTS, by="p-1", at=now)
    ledger, _ = ledger.revoke("welzijn", P.MARKETPLACE_BROKER, by="p-1", at=now)
    assert granted_keys(ledger) == []


@pytest.mark.parametrize(
    ("uri", "origin"),
    [
        ("https://app.example/callback?x=1", "https://app.example"),
        ("http://127.0.0.1:8080/callback", "http://127.0.0.1:8080"),
        ("https://App.Example:8443/cb", "https://app.example:8443"),
        ("http://[::1]:9000/cb", "http://[::1]:9000"),
        ("https://a;b.example/cb", None),  # could not end the directive
        ("https://a'b.example/cb", None),
        ("javascript:alert(1)", None),
        ("not a uri", None),
    ],
)
def test_the_redirect_origin_is_a_plain_host_source(uri: str, origin: str | None) -> None:
    assert redirect_origin(uri) == origin


def test_the_login_page_may_send_its_form_on_to_the_validated_client_only() -> None:
    assert "form-action 'self';" not in login_page_csp()
    assert login_page_csp().endswith("form-action 'self'")
    policy = login_page_csp("https://portal.example/callback")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["form-action"] == "'self' https://portal.example"
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
