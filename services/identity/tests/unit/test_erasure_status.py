"""Erasure status across services, and the anonymised consent history (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity.domain.consent import ConsentLedger, ConsentPurpose
from identity.domain.erasure import ErasureStatus

NOW = datetime(2026, 3, 2, 14, 5, 9, tzinfo=UTC)


def test_complete_only_when_every_expected_service_confirmed() -> None:
    status = ErasureStatus.requested(
        "p1", key="k1", at=NOW, expected=["social_map", "questionnaires", "questionnaires"]
    )
    assert status.expected_services == ("questionnaires", "social_map")
    assert status.pending_services == ("questionnaires", "social_map")
    status = status.confirm(
        "questionnaires", event_id="e1", at=NOW, erased={"responses": 2}, anonymised={}
    )
    assert status.pending_services == ("social_map",) and not status.all_confirmed
    # A later confirmation of the same service replaces the earlier one.
    status = status.confirm(
        "questionnaires", event_id="e2", at=NOW, erased={"responses": 3}, anonymised={}
    )
    assert [(c.service, c.erased) for c in status.confirmations] == [
        ("questionnaires", {"responses": 3})
    ]
    # An unexpected service is recorded but not waited for.
    status = status.confirm("marketplace", event_id="e3", at=NOW, erased={}, anonymised={})
    assert not status.all_confirmed
    status = status.confirm("social_map", event_id="e4", at=NOW, erased={}, anonymised={})
    assert status.all_confirmed and not status.is_complete
    done = status.completed(NOW + timedelta(seconds=1))
    assert done.is_complete and done.completed(NOW + timedelta(days=1)) == done
    assert ErasureStatus.requested("p2", key="k2", at=NOW, expected=[]).all_confirmed


def test_anonymised_ledger_keeps_that_consent_existed_without_the_person() -> None:
    ledger = ConsentLedger(person_id="p1")
    ledger, _ = ledger.grant("welzijn", ConsentPurpose.RESEARCH, by="p1", at=NOW)
    ledger, _ = ledger.grant("welzijn", ConsentPurpose.SHARE_RESULTS, by="pro-7", at=NOW)
    ledger, _ = ledger.revoke_all(by="p1", at=NOW + timedelta(hours=1))
    anon = ledger.anonymised("erased-x")
    assert anon.person_id == "erased-x" and len(anon.entries) == 4
    assert {e.by for e in anon.entries} == {"resident", "pro-7"}
    assert {e.at for e in anon.entries} == {datetime(2026, 3, 2, tzinfo=UTC)}
    assert anon.current() == {}


def test_a_reminder_is_due_a_day_after_the_last_request_until_everyone_confirmed() -> None:
    day = timedelta(hours=24)
    status = ErasureStatus.requested(
        "p1", key="k1", at=NOW, expected=["questionnaires", "social_map"]
    )
    assert not status.reminder_due(NOW + day - timedelta(seconds=1), day)
    assert status.reminder_due(NOW + day, day)
    status = status.reminded(NOW + day)
    assert status.reminders == 1 and status.last_asked_at == NOW + day
    assert not status.reminder_due(NOW + day + timedelta(hours=23), day)  # counts from then
    assert status.reminder_due(NOW + 2 * day, day)
    for service in ("questionnaires", "social_map"):
        status = status.confirm(service, event_id=service, at=NOW, erased={}, anonymised={})
    assert not status.reminder_due(NOW + 10 * day, day)  # all confirmed (completes next)
    assert not status.completed(NOW).reminder_due(NOW + 10 * day, day)


def test_the_person_is_forgotten_once_the_streams_are_purged() -> None:
    status = ErasureStatus.requested("p1", key="k1", at=NOW, expected=["questionnaires"])
    assert status.phase == "pending" and not status.awaits_purge
    status = status.confirm("questionnaires", event_id="e1", at=NOW, erased={}, anonymised={})
    done = status.completed(NOW, export_objects=["t/x1/questionnaires.json"])
    assert done.phase == "purging" and done.awaits_purge
    assert done.export_objects == ("t/x1/questionnaires.json",)
    gone = done.forgotten(NOW + timedelta(minutes=1))
    assert gone.phase == "completed" and not gone.awaits_purge
    assert gone.person_id is None and gone.export_objects == () and gone.key == "k1"
    assert "p1" not in gone.model_dump_json()
