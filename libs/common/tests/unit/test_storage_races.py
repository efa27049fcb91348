"""nx-27017's first-use races are retried at start-up (`storage._retry_races`); anything else
fails at once."""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure
from wijkkracht_common.storage import _retry_races


class Flaky:
    """Fails `times` times with `message`, then answers."""

    def __init__(self, message: str, times: int) -> None:
        self.message, self.left, self.calls = message, times, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise OperationFailure(self.message)
        return "done"


@pytest.mark.parametrize(
    "message",
    [
        "<sqlite3.Connection object> returned NULL without setting an exception",
        "no such function: jsonb",  # neosqlite's jsonb() probe racing a new collection
    ],
)
async def test_a_first_use_race_is_tried_again(message: str) -> None:
    flaky = Flaky(message, 2)
    assert await _retry_races(flaky) == "done"
    assert flaky.calls == 3


async def test_other_failures_and_a_lasting_race_are_raised() -> None:
    other = Flaky("not authorized", 1)
    with pytest.raises(OperationFailure, match="not authorized"):
        await _retry_races(other)
    assert other.calls == 1
    lasting = Flaky("no such function: jsonb", 10)
    with pytest.raises(OperationFailure, match="jsonb"):
        await _retry_races(lasting, attempts=3)
    assert lasting.calls == 3
