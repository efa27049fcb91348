from __future__ import annotations

from effect_measurement.service.history_cache import HistoryCache


def doc(rid: str, person: str, pending: bool = False) -> dict[str, object]:
    return {"_id": rid, "person_id": person, "followup_pending": pending}


def test_a_new_epoch_drops_everything_and_unknown_persons_are_read() -> None:
    cache = HistoryCache(max_persons=10)
    assert not cache.valid_at(0)  # nothing recorded yet
    cache.record(1, {"a": [doc("r1", "a")], "b": [doc("r2", "b")]})
    assert cache.valid_at(1)
    cached, unknown = cache.split(["a", "b", "c"])
    assert sorted(d["_id"] for d in cached) == ["r1", "r2"]
    assert unknown == ["c"]
    assert cache.holds_at((0, 1)) and not cache.holds_at((2,))
    assert not cache.valid_at(2)  # someone else wrote: nothing is trusted
    assert cache.split(["a"]) == ([], ["a"])


def test_a_person_without_measurements_is_known_to_have_none() -> None:
    cache = HistoryCache(max_persons=10)
    cache.record(3, {"empty": []})
    assert cache.valid_at(3)
    assert cache.split(["empty"]) == ([], [])


def test_a_commit_replaces_its_persons_histories_whole() -> None:
    cache = HistoryCache(max_persons=10)
    cache.record(1, {"a": [doc("r1", "a", pending=True)]})
    cache.record(2, {"a": [doc("r1", "a"), doc("r2", "a", pending=True)]})
    cached, _ = cache.split(["a"])
    assert {d["_id"]: d["followup_pending"] for d in cached} == {"r1": False, "r2": True}


def test_least_recently_used_persons_leave_first() -> None:
    cache = HistoryCache(max_persons=2)
    cache.record(1, {"a": [], "b": []})
    cache.split(["a"])  # a used: b is the least recently used now
    cache.record(2, {"c": []})
    assert cache.valid_at(2)
    assert cache.split(["a", "b", "c"])[1] == ["b"]
