"""Reading stored values the same way on every engine (storage's engine-neutral helpers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from wijkkracht_common.storage import restore_datetimes, stored_bool, stored_datetime

AWARE = datetime(2026, 1, 2, 10, 4, 23, 469000, tzinfo=UTC)


@pytest.mark.parametrize(
    "stored",
    [AWARE, AWARE.replace(tzinfo=None), "2026-01-02 10:04:23.469000", AWARE.isoformat()],
)
def test_a_stored_datetime_reads_back_aware_and_equal(stored: object) -> None:
    assert stored_datetime(stored) == AWARE
    assert stored_datetime(None) is None


def test_a_value_that_is_no_datetime_is_refused() -> None:
    with pytest.raises(TypeError):
        stored_datetime(42)


def test_datetimes_are_restored_under_datetime_keys_at_any_depth_only() -> None:
    doc = {
        "created_at": "2026-01-02 10:04:23.469000",
        "name": "2026-01-02 10:04:23.469000",  # not a date-time key: left alone
        "grants": [{"at": "2026-01-02 10:04:23.469000", "purpose": "x"}],
        "nested": {"auth_time": AWARE.replace(tzinfo=None)},
        "revoked_at": "not a date",
    }
    restored = restore_datetimes(doc)
    assert restored["created_at"] == AWARE
    assert restored["name"] == "2026-01-02 10:04:23.469000"
    assert restored["grants"][0]["at"] == AWARE
    assert restored["nested"]["auth_time"] == AWARE
    assert restored["revoked_at"] == "not a date"


@pytest.mark.parametrize(("stored", "expected"), [(1, True), (0, False), (True, True)])
def test_a_stored_bool_reads_back_as_bool(stored: object, expected: bool) -> None:
    assert stored_bool(stored) is expected
