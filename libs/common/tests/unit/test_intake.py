"""The shared intake (issue 16, finding 7), without I/O: once closed, the transactions of
consumed events that have not begun are refused (their messages are nak'd and delivered
again); HTTP requests and jobs are not; a message on its last delivery is applied anyway."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest
from wijkkracht_common.intake import Intake, ShuttingDown, applying
from wijkkracht_common.messaging import PermanentError
from wijkkracht_common.storage import TRANSIENT_ERRORS

pytestmark = pytest.mark.unit


def consumed(attempt: int = 1) -> AbstractContextManager[None]:
    return applying("q__t", "wk.t.identity.tenant_created.v1", attempt, max_deliver=3)


def test_an_open_intake_admits_everything() -> None:
    intake = Intake()
    intake.admit()
    with consumed():
        intake.admit()
    assert intake.refused == 0 and not intake.closed


def test_a_closed_intake_refuses_consumed_events_only() -> None:
    intake = Intake()
    with consumed():
        intake.close()
        # A handler whose transaction has not begun yet: refused there.
        with pytest.raises(ShuttingDown, match="q__t"):
            intake.admit()
    # An HTTP request or a job (no message): its work goes on.
    intake.admit()
    assert intake.refused == 1


def test_a_message_on_its_last_delivery_is_applied_anyway() -> None:
    """Refusing it would dead-letter it: settle gives up after `max_deliver`."""
    intake = Intake()
    intake.close()
    with consumed(attempt=3):
        intake.admit()
    with consumed(attempt=2), pytest.raises(ShuttingDown):
        intake.admit()
    assert intake.refused == 1


def test_the_mark_ends_with_the_handler() -> None:
    intake = Intake()
    intake.close()
    with consumed():
        pass
    intake.admit()  # after the handler: an HTTP request's work, never refused
    assert intake.refused == 0


def test_a_refusal_is_retried_by_the_settle_policy_never_dead_lettered_as_invalid() -> None:
    """`messaging.settle` dead-letters PermanentError/ValueError at once and naks transient
    errors with back-off (one log line each)."""
    refusal = ShuttingDown("stopping")
    assert isinstance(refusal, TRANSIENT_ERRORS)
    assert not isinstance(refusal, PermanentError | ValueError)
