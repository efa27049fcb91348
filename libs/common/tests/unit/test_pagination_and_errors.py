from __future__ import annotations

from datetime import UTC, datetime

import pytest
from wijkkracht_common.errors import InvalidInput, NotFound, Problem
from wijkkracht_common.pagination import decode_cursor, encode_cursor

pytestmark = pytest.mark.unit


def test_cursor_round_trip_with_datetimes() -> None:
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert decode_cursor(encode_cursor({"id": "abc", "v": at})) == {"id": "abc", "v": at}


@pytest.mark.parametrize("bad", ["%%%", "bm90IGpzb24", encode_cursor({"id": 1})[:3], "WzFd"])
def test_bad_cursor_is_a_422_problem(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        decode_cursor(bad)
    body = info.value.body()
    assert body["status"] == 422 and body["errors"][0]["field"] == "query.cursor"


def test_problem_body_is_rfc9457() -> None:
    body = NotFound("Niet gevonden. / Not found.").body("/x")
    assert body == {
        "type": "urn:wijkkracht:problem:not-found",
        "title": "Niet gevonden / Not found",
        "status": 404,
        "detail": "Niet gevonden. / Not found.",
        "instance": "/x",
    }
    custom = Problem("d", status=409, kind="already-submitted", response_id="r1").body()
    assert custom["type"].endswith("already-submitted") and custom["response_id"] == "r1"
