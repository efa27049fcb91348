"""A test run stopped with SIGTERM (a CI timeout, `kill`) tears its session down like Ctrl-C,
so the embedded NATS and database the session started do not outlive it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

INNER = """
import os
import signal
import time
from pathlib import Path

import pytest

MARK = Path({mark!r})


@pytest.fixture(scope="session")
def servers():
    yield
    MARK.write_text("torn down")


def test_stopped_by_sigterm(servers):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)  # never reached: the signal interrupts the run
"""


@pytest.mark.unit
def test_a_run_stopped_with_sigterm_tears_its_session_fixtures_down(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    mark = tmp_path / "mark"
    pytester.makepyfile(INNER.format(mark=str(mark)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert mark.read_text() == "torn down"
