"""The consent projection: a resident's decision per organisation and purpose (identity owns
consent and publishes every change; this service keeps the newest decision)."""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import datetime

#: The purpose that lets an organisation's professionals see a resident's results.
SHARE_RESULTS = "share_results"


@dataclass(frozen=True, slots=True)
class Consent:
    person_id: str
    organisation: str
    purpose: str
    granted: bool
    at: datetime  # when the resident decided (the event's time)


def supersedes(decision: Consent, current: Consent | None) -> bool:
    """Whether ``decision`` replaces the stored one: an older decision arriving late does not
    undo a newer one (events may arrive out of order)."""
    return current is None or not current.at > decision.at


def sharing_organisations(consents: Iterable[Consent], among: Set[str]) -> set[str]:
    """The organisations of ``among`` the resident shares their results with."""
    return {
        c.organisation
        for c in consents
        if c.purpose == SHARE_RESULTS and c.granted and c.organisation in among
    }
