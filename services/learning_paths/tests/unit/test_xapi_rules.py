"""The LRS's rules without a database: validation, formats, completion, comparison, the
keys and query conditions statements are found by."""

from __future__ import annotations

import random
from typing import Any

import pytest
from learning_paths.adapters.lrs import document_of
from learning_paths.domain.xapi import formats, multipart
from learning_paths.domain.xapi import statements as rules
from learning_paths.domain.xapi.errors import XapiError
from learning_paths.domain.xapi.validation import check_statement
from learning_paths.service.lrs import StatementQuery

HOME = "http://identity.example/identity/v1"


def statement(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "actor": {"mbox": "mailto:a@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "http://example.org/a/1"},
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "bad",
    [
        {"verb": {"id": "geen iri"}},
        {"actor": {"mbox": "a@example.org"}},
        {"actor": {"objectType": "Group"}},
        {"object": {"objectType": "Agent", "name": "x", "mbox": "mailto:x@y.org", "extra": 1}},
        {"result": {"score": {"scaled": 1.5}}},
        {"result": {"score": {"raw": 5, "min": 6}}},
        {"result": {"duration": "P4W1D"}},
        {"context": {"registration": "niet-uuid"}},
        {"context": {"language": "a12345678"}},
        {"timestamp": "2008-09-15T15:53:00.601-00:00"},
        {"verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}},
        {
            "object": {
                "id": "http://e.org/q",
                "definition": {"interactionType": "choice", "scale": [{"id": "a"}]},
            }
        },
    ],
)
def test_malformed_statements_are_400(bad: dict[str, Any]) -> None:
    with pytest.raises(XapiError) as caught:
        check_statement(statement(**bad))
    assert caught.value.status == 400


def test_context_activities_become_arrays_and_timestamps_utc() -> None:
    done = rules.complete(
        statement(
            context={"contextActivities": {"parent": {"id": "http://e.org/p"}}},
            timestamp="2024-05-01T12:00:00.5+02:00",
        ),
        statement_id="6f8e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        stored="2024-05-01T10:00:01.000Z",
        authority={"mbox": "mailto:lrs@example.org"},
    )
    assert done["context"]["contextActivities"]["parent"] == [{"id": "http://e.org/p"}]
    assert done["timestamp"] == "2024-05-01T10:00:00.5Z" and done["version"] == "2.0.0"
    assert formats.normalise_timestamp("2024-05-01T10:00:00+00:00") == "2024-05-01T10:00:00Z"


def test_equivalence_ignores_what_the_lrs_sets() -> None:
    sent = statement(result={"duration": "PT1.234S"})
    stored = {
        **sent,
        "id": "6F8E1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B",
        "stored": "2024-01-01T00:00:00Z",
        "authority": {"mbox": "mailto:lrs@x.org"},
        "version": "2.0.0",
        "timestamp": "2024-01-01T00:00:00Z",
        "result": {"duration": "PT1.23S"},
    }
    assert rules.equivalent(stored, {**sent, "id": stored["id"].lower()})
    assert not rules.equivalent(stored, {**sent, "verb": {"id": "http://e.org/other"}})


def test_keys_and_conditions_find_a_statement_by_agent_and_activity() -> None:
    done = {**statement(), "id": "6f8e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"}
    doc = document_of(done, 1000, HOME)
    assert doc["aa"] == "mbox|mailto:a@example.org\x1fhttp://example.org/a/1"
    assert "st" not in doc and '"verb"' in doc["sj"]
    query = StatementQuery(agent="mbox|mailto:a@example.org", activity="http://example.org/a/1")
    assert query.conditions(None) == [{"voided": 0, "aa": doc["aa"]}]
    related = StatementQuery(agent="mbox|mailto:z@example.org", related_agents=True)
    assert len(related.conditions(None)) == 4  # actor, object, authority, related
    assert query.matches({"actor": doc["actor"], "act": doc["act"]})
    assert not related.matches({"actor": doc["actor"], "act": doc["act"], "rel": []})


def test_a_resident_account_is_the_owner() -> None:
    mine = {
        **statement(actor={"account": {"homePage": HOME, "name": "r-1"}}),
        "id": "6f8e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
    }
    doc = document_of(mine, 1000, HOME)
    assert doc["owner"] == "r-1" and doc["persons"] == ["r-1"]


def test_multipart_bodies_are_read_and_checked() -> None:
    attachment = b"hallo"
    sha2 = "d3751d33f9cd5049c4af2b462735457e4d3baf130bcbb87f389e349fbaeb20b9"
    body = (
        b"--b\r\nContent-Type: application/json\r\n\r\n[]\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
        b"X-Experience-API-Hash: " + sha2.encode() + b"\r\n\r\n" + attachment + b"\r\n--b--"
    )
    found = multipart.parse(body, "multipart/mixed; boundary=b")
    assert found.statements == b"[]" and multipart.digest_matches(sha2, attachment)
    with pytest.raises(XapiError):
        multipart.parse(body.replace(b"binary", b"base64"), "multipart/mixed; boundary=b")
    with pytest.raises(XapiError):
        multipart.parse(body, "multipart/mixed;")


def test_the_quick_timestamp_check_agrees_with_the_full_parse() -> None:
    """`is_timestamp` (checked on every statement) accepts exactly what `parse_timestamp`
    parses: calendar ranges, leap years, offsets, negative zero, the calendar's edges."""
    rng = random.Random(9)
    cases: list[object] = [
        "2024-02-29T10:00:00Z",
        "2023-02-29T10:00:00Z",
        "1900-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2024-04-30T23:59:59-00:00",
        "2024-04-30T23:59:59.123456789+05:30",
        "0001-01-01T00:00:00+01:00",  # before the calendar in UTC: not a timestamp (was a 500)
        "9999-12-31T23:59:59-01:00",
        "2024-04-30t23:59:59z",
        5,
        None,
    ]
    for _ in range(5000):
        date = (
            f"{rng.randrange(0, 10000):04d}-{rng.randrange(0, 14):02d}-{rng.randrange(0, 33):02d}"
        )
        time_of_day = (
            f"{rng.randrange(0, 26):02d}:{rng.randrange(0, 62):02d}:{rng.randrange(0, 62):02d}"
        )
        offset = rng.choice(["Z", "", "+00:00", "-00:00", "+23:59", "-05:30", "+24:00", "-00"])
        cases.append(f"{date}T{time_of_day}{offset}")
    for case in cases:
        assert formats.is_timestamp(case) == (formats.parse_timestamp(case) is not None), case
    assert formats.parse_timestamp("0001-01-01T00:00:00+01:00") is None
