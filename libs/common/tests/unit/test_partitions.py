"""Partition slots in subjects and the lease rebalancing rule (`partitions.rebalance`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wijkkracht_common.events.envelope import (
    PARTITION_SLOTS,
    EventData,
    new_event,
    partition_slot,
    serialize_event,
)
from wijkkracht_common.events.identity import ConsentGranted
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.partitions import LeaseView, partition_slots, rebalance


def _response(person: str | None, response: str = "r-1") -> ResponseSubmitted:
    return ResponseSubmitted(
        response_id=response,
        person_id=person,
        instrument_id="i",
        family="positive-health",
        variant="short",
        version=1,
        purpose="measurement",
        submitted_at=datetime(2026, 12, 7, tzinfo=UTC),
        dimension_scores={"participation": 4.0},
    )


def test_a_partitioned_subject_ends_in_the_persons_slot() -> None:
    a = new_event(_response("p-1", "r-1"), tenant="zaanstreek", subject="r-1")
    b = new_event(_response("p-1", "r-2"), tenant="zaanstreek", subject="r-2")
    slot = partition_slot("p-1")
    assert a.nats_subject == f"wk.zaanstreek.questionnaires.response_submitted.v1.{slot}"
    assert b.nats_subject == a.nats_subject  # same person, same slot, whatever the response
    anonymous = new_event(_response(None, "r-9"), tenant="zaanstreek", subject="r-9")
    assert anonymous.nats_subject.endswith(f".{partition_slot('r-9')}")
    assert ResponseSubmitted.subject_filter() == "wk.*.questionnaires.response_submitted.v1.*"
    assert ResponseSubmitted.subject_template() == (
        "wk.{tenant}.questionnaires.response_submitted.v1.{slot}"
    )


def test_serialized_events_get_the_same_subject_as_models() -> None:
    data = _response("p-7").model_dump(mode="json")
    serialized = serialize_event(
        ResponseSubmitted, data, tenant="t1", subject="r-1", time=datetime.now(UTC)
    )
    assert (
        serialized.nats_subject
        == new_event(_response("p-7"), tenant="t1", subject="r-1").nats_subject
    )


def test_unpartitioned_events_keep_their_subjects_and_refuse_slots() -> None:
    assert ConsentGranted.subject_for("t1") == "wk.t1.identity.consent_granted.v1"
    with pytest.raises(ValueError, match="not partitioned"):
        ConsentGranted.slot_filters([1])
    with pytest.raises(ValueError, match="needs a slot"):
        ResponseSubmitted.subject_for("t1")
    with pytest.raises(ValueError, match="needs a slot"):
        ResponseSubmitted.subject_for("t1", PARTITION_SLOTS)


class _Keyless(EventData):
    producer: ClassVar[str] = "questionnaires"
    event_name: ClassVar[str] = "keyless_test"
    partition_by: ClassVar[tuple[str, ...]] = ("person_id",)
    person_id: str | None = None


def test_an_event_without_its_partition_key_is_refused() -> None:
    with pytest.raises(ValueError, match="none of"):
        new_event(_Keyless(), tenant="t1", subject="x").nats_subject  # noqa: B018


def test_slots_split_into_disjoint_partitions_covering_all() -> None:
    for count in (1, 2, 3, 4, 7, 64):
        parts = [set(partition_slots(count, i)) for i in range(count)]
        assert set().union(*parts) == set(range(PARTITION_SLOTS))
        assert sum(len(p) for p in parts) == PARTITION_SLOTS
        assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
    with pytest.raises(ValueError):
        partition_slots(65, 0)
    with pytest.raises(ValueError):
        partition_slots(4, 4)


def test_a_lone_replica_takes_every_partition() -> None:
    release, take = rebalance("a", LeaseView(frozenset({"a"})), 4)
    assert (release, take) == ([], [0, 1, 2, 3])


def test_a_replica_above_its_share_lets_go_when_another_joins() -> None:
    view = LeaseView(frozenset({"a", "b"}), {0: "a", 1: "a", 2: "a", 3: "a"})
    assert rebalance("a", view, 4) == ([2, 3], [])
    assert rebalance("b", view, 4) == ([], [])  # nothing free yet: it waits for a's release
    after = LeaseView(frozenset({"a", "b"}), {0: "a", 1: "a"})
    assert rebalance("b", after, 4) == ([], [2, 3])


def test_a_dead_replicas_partitions_wait_for_its_lease_then_move() -> None:
    # b was killed: its member key expired, its partition keys too (same lease).
    view = LeaseView(frozenset({"a"}), {0: "a", 1: "a"})
    assert rebalance("a", view, 4) == ([], [2, 3])
    # While b's partition keys live, they stay b's: a never takes a held partition.
    held = LeaseView(frozenset({"a"}), {0: "a", 1: "a", 2: "b", 3: "b"})
    assert rebalance("a", held, 4) == ([], [])


@settings(max_examples=200, deadline=None)
@given(
    members=st.sets(st.sampled_from("abcdefg"), min_size=1, max_size=7),
    count=st.integers(min_value=1, max_value=16),
    start=st.dictionaries(st.integers(0, 15), st.sampled_from("abcdefg"), max_size=16),
    order=st.randoms(use_true_random=False),
)
def test_rounds_settle_with_every_partition_held_and_fair_shares(
    members: set[str], count: int, start: dict[int, str], order: object
) -> None:
    """Replicas that run rounds in any order end with every partition held by a live replica,
    shares differing by at most one, and no replica holding what another holds."""
    import random

    rng = order if isinstance(order, random.Random) else random.Random(0)
    # Leases of replicas that are gone have expired; the rest hold what they held.
    owners = {p: m for p, m in start.items() if p < count and m in members}
    live = frozenset(members)
    for _ in range(4 * len(live) + 4):
        for me in rng.sample(sorted(live), len(live)):
            release, take = rebalance(me, LeaseView(live, dict(owners)), count)
            for p in release:
                assert owners.pop(p) == me
            for p in take:
                assert p not in owners
                owners[p] = me
    assert set(owners) == set(range(count))
    shares = [sum(1 for o in owners.values() if o == m) for m in live]
    assert max(shares) - min(shares) <= 1
