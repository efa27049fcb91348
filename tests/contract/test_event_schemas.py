"""Published event schemas only change compatibly; every event has a committed schema."""

from __future__ import annotations

import json

import pytest
from wijkkracht_common.events.catalog import SCHEMA_DIR, all_events, incompatibilities, schema_of

pytestmark = pytest.mark.contract


def test_every_event_has_a_committed_schema() -> None:
    missing = [
        c.event_type() for c in all_events() if not (SCHEMA_DIR / f"{c.event_type()}.json").exists()
    ]
    assert not missing, f"run `make schemas` and commit: {missing}"


@pytest.mark.parametrize("event_cls", all_events(), ids=lambda c: c.event_type())
def test_schema_changes_are_compatible(event_cls: type) -> None:
    path = SCHEMA_DIR / f"{event_cls.event_type()}.json"
    if not path.exists():
        pytest.skip("new event: schema not committed yet (see the test above)")
    problems = incompatibilities(json.loads(path.read_text()), schema_of(event_cls))
    assert not problems, (
        f"{event_cls.event_type()} changed incompatibly: {problems}. Publish a new "
        f"v{event_cls.event_version + 1} event beside it instead."
    )


def test_a_removed_field_is_detected() -> None:
    old = {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    new = {"properties": {"a": {"type": "integer"}}, "required": ["a", "c"]}
    assert sorted(incompatibilities(old, new)) == [
        "field 'a' changed type string → integer",
        "field 'b' removed",
        "field 'c' became required",
    ]


def test_a_new_optional_field_is_compatible() -> None:
    old = {"properties": {"a": {"type": "string"}}, "required": ["a"]}
    new = {"properties": {"a": {"type": "string"}, "z": {"type": "string"}}, "required": ["a"]}
    assert incompatibilities(old, new) == []
