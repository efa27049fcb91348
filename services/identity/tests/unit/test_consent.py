from __future__ import annotations

from datetime import datetime, timedelta

from identity.domain.consent import ConsentAction, ConsentLedger, ConsentPurpose

P = ConsentPurpose


def test_grant_revoke_history_and_state(now: datetime) -> None:
    ledger = ConsentLedger(person_id="p-1")
    ledger, granted = ledger.grant("de-smd", P.SHARE_RESULTS, by="p-1", at=now)
    assert granted is not None and granted.action is ConsentAction.GRANTED
    assert ledger.is_granted("de-smd", P.SHARE_RESULTS)
    assert not ledger.is_granted("buurtwerk", P.SHARE_RESULTS)  # per organisation
    assert not ledger.is_granted("de-smd", P.RESEARCH)  # per purpose

    later = now + timedelta(days=3)
    ledger, revoked = ledger.revoke("de-smd", P.SHARE_RESULTS, by="prof-9", at=later)
    assert revoked is not None and revoked.by == "prof-9" and revoked.at == later
    assert not ledger.is_granted("de-smd", P.SHARE_RESULTS)
    assert [e.action for e in ledger.entries] == [ConsentAction.GRANTED, ConsentAction.REVOKED]

    ledger, regranted = ledger.grant("de-smd", P.SHARE_RESULTS, by="p-1", at=later)
    assert regranted is not None and len(ledger.entries) == 3
    assert ledger.current() == {"de-smd": frozenset({P.SHARE_RESULTS})}


def test_noops_return_none_and_leave_history_untouched(now: datetime) -> None:
    ledger = ConsentLedger(person_id="p-1")
    same, change = ledger.revoke("de-smd", P.SHARE_WITH_GP, by="p-1", at=now)
    assert change is None and same is ledger and same.entries == ()
    ledger, _ = ledger.grant("de-smd", P.SHARE_WITH_GP, by="p-1", at=now)
    again, change = ledger.grant("de-smd", P.SHARE_WITH_GP, by="p-1", at=now)
    assert change is None and len(again.entries) == 1


def test_revoke_all_and_round_trip(now: datetime) -> None:
    ledger = ConsentLedger(person_id="p-1")
    ledger, _ = ledger.grant("de-smd", P.SHARE_RESULTS, by="p-1", at=now)
    ledger, _ = ledger.grant("buurtwerk", P.RESEARCH, by="p-1", at=now)
    restored = ConsentLedger.model_validate(ledger.model_dump())
    assert restored == ledger
    ledger, changes = ledger.revoke_all(by="p-1", at=now)
    assert {(c.organisation, c.purpose) for c in changes} == {
        ("de-smd", P.SHARE_RESULTS),
        ("buurtwerk", P.RESEARCH),
    }
    assert ledger.current() == {}
