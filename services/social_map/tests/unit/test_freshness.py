from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from social_map.domain.errors import DomainValidationError
from social_map.domain.freshness import (
    EntrySummary,
    FreshnessEvent,
    FreshnessPolicy,
    FreshnessState,
    next_check_at,
    overview,
    report_outdated,
    state,
    transitions,
    verify,
    without_reporter,
)
from social_map_testkit import NOW, make_entry

F, D, S, H = FreshnessState.FRESH, FreshnessState.DUE, FreshnessState.STALE, FreshnessState.HIDDEN


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, F), (149, F), (150, D), (179, D), (180, S), (269, S), (270, H), (900, H)],
)
def test_state_by_age(policy: FreshnessPolicy, days: int, expected: FreshnessState) -> None:
    e = make_entry(assured_at=NOW - timedelta(days=days))
    assert state(e, policy, NOW) is expected


def test_never_assured_is_due(policy: FreshnessPolicy) -> None:
    assert state(make_entry(assured_at=None), policy, NOW) is D


def test_policy_must_be_ordered() -> None:
    FreshnessPolicy(remind_after_days=30, stale_after_days=60, hidden_after_days=90)
    with pytest.raises(ValidationError, match="stale_after_days"):
        FreshnessPolicy(remind_after_days=200, stale_after_days=180)
    with pytest.raises(ValidationError, match="hidden_after_days"):
        FreshnessPolicy(stale_after_days=300, hidden_after_days=270)


def test_a_report_makes_a_fresh_entry_due_at_once(policy: FreshnessPolicy) -> None:
    e = report_outdated(
        make_entry(assured_at=NOW - timedelta(days=5)), "r1", "actor-1", "Tijd klopt niet", NOW
    )
    assert state(e, policy, NOW) is D
    assert e.open_reports[0].note == "Tijd klopt niet"


def test_each_distinct_reporter_shortens_the_clock_by_60_days(policy: FreshnessPolicy) -> None:
    e = make_entry(assured_at=NOW - timedelta(days=130))
    e = report_outdated(e, "r1", "actor-1", "", NOW)
    assert state(e, policy, NOW) is S  # 130 + 60 >= 180
    same = report_outdated(e, "r2", "actor-1", "nog steeds fout", NOW)
    assert len(same.open_reports) == 1  # a reporter counts once


def test_reports_alone_never_hide(policy: FreshnessPolicy) -> None:
    e = make_entry(assured_at=NOW - timedelta(days=100))
    for i in range(6):
        e = report_outdated(e, f"r{i}", f"actor-{i}", "", NOW)
    assert state(e, policy, NOW) is S


def test_verify_resets_clock_closes_reports_and_bumps_revision(policy: FreshnessPolicy) -> None:
    e = report_outdated(make_entry(assured_at=NOW - timedelta(days=200)), "r1", "a", "", NOW)
    v = verify(e, "owner-2", NOW + timedelta(days=1))
    assert v.assured_at == NOW + timedelta(days=1) and v.assured_by == "owner-2"
    assert v.open_reports == [] and v.outdated_reports[0].closed_at == NOW + timedelta(days=1)
    assert v.revision == e.revision + 1
    assert state(v, policy, NOW + timedelta(days=1)) is F
    with pytest.raises(DomainValidationError):
        verify(e, "", NOW)


def test_transitions_emit_one_event_per_threshold_crossed() -> None:
    assert transitions(F, F) == []
    assert transitions(F, D) == [FreshnessEvent.VERIFICATION_DUE]
    assert transitions(F, H) == [
        FreshnessEvent.VERIFICATION_DUE,
        FreshnessEvent.WENT_STALE,
        FreshnessEvent.HIDDEN,
    ]
    assert transitions(S, H) == [FreshnessEvent.HIDDEN]
    assert transitions(H, F) == []
    assert FreshnessEvent.WENT_STALE.value == "entry_went_stale"


def test_next_check_at(policy: FreshnessPolicy) -> None:
    e = make_entry(assured_at=NOW - timedelta(days=10))
    assert next_check_at(e, policy, NOW) == NOW + timedelta(days=140)
    assert next_check_at(make_entry(assured_at=NOW - timedelta(days=300)), policy, NOW) is None


def test_overview_per_organisation(policy: FreshnessPolicy) -> None:
    s = [
        EntrySummary("a1", "org-a", "A1", NOW - timedelta(days=10)),
        EntrySummary("a2", "org-a", "A2", NOW - timedelta(days=160)),
        EntrySummary("a3", "org-a", "A3", NOW - timedelta(days=200)),
        EntrySummary("a4", "org-a", "A4", None),
        EntrySummary("a5", "org-a", "A5", NOW - timedelta(days=20), open_reporters=1),
        EntrySummary("b1", "org-b", "B1", NOW - timedelta(days=300)),
    ]
    result = overview(s, policy, NOW, oldest_n=2)
    assert [o.organization_id for o in result] == ["org-a", "org-b"]
    a = result[0]
    assert a.counts == {F: 1, D: 3, S: 1, H: 0} and a.total == 5
    assert [x.id for x in a.oldest] == ["a4", "a3"]
    assert result[1].counts[H] == 1
    assert EntrySummary.of(make_entry()).organization_id == "org-1"


def test_without_reporter_renames_only_that_reporters_reports() -> None:
    e = report_outdated(make_entry(), "r1", "actor-1", "klopt niet", NOW)
    e = report_outdated(e, "r2", "actor-2", "", NOW)
    out = without_reporter(e, "actor-1", "erased-x")
    assert [(r.id, r.reporter, r.note) for r in out.outdated_reports] == [
        ("r1", "erased-x", "klopt niet"),
        ("r2", "actor-2", ""),
    ]
    assert without_reporter(e, "nobody", "erased-y") == e
