"""What a resident's consent lets an organisation see here.

Identity owns consent and publishes every change; the service keeps the platform's one
projection of it (`wijkkracht_common.consent`, newest state by the consent's own version).
The rules below decide on the organisations that projection says the resident shares with.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Final, Literal

#: The purpose that lets an organisation's professionals see a resident's results.
SHARE_RESULTS: Final[Literal["share_results"]] = "share_results"


def sharing_organisations(sharing: Iterable[str], among: Set[str]) -> set[str]:
    """The organisations of ``among`` the resident shares their results with."""
    return {organisation for organisation in sharing if organisation in among}


def visible_trajectory(organisation: str | None, visible: Set[str]) -> bool:
    """Whether a trajectory kept under ``organisation`` is shown to staff of ``visible`` (the
    organisations the resident shares results with where the caller works). One kept under no
    organisation (a self-assessment the resident filled in on their own) is the resident's
    to share: any organisation they share results with sees it."""
    if not visible:
        return False
    return organisation is None or organisation in visible
