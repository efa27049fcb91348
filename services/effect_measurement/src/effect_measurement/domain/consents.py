"""What a resident's consent lets an organisation see here.

Identity owns consent and publishes every change; the service keeps the platform's one
projection of it (`wijkkracht_common.consent`, newest state by the consent's own version).
The rules below decide on the organisations that projection says the resident shares with.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Final, Literal

from effect_measurement.domain.inputs import InterventionInput

#: The purpose that lets an organisation's professionals see a resident's results.
SHARE_RESULTS: Final[Literal["share_results"]] = "share_results"
#: Learning paths' purpose: a professional sees the resident's learning progress.
SHARE_LEARNING_PROGRESS: Final[Literal["share_learning_progress"]] = "share_learning_progress"


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


def visible_intervention(item: InterventionInput, results: Set[str], learning: Set[str]) -> bool:
    """Whether staff see an intervention in a resident's trajectory they may see: only what
    the consent of its own source shows them. ``results``: the organisations the caller
    works for (as a professional) that the resident shares results with; ``learning``: those
    they share learning progress with.

    - A completed module or path is learning progress: shown only with
      ``share_learning_progress`` (any module, assigned or chosen by the resident, as in
      learning paths' own progress view), never on ``share_results`` alone, which would
      show what learning paths hides (an assignment's status without that consent).
    - One recorded by staff, and help through the marketplace, are shown to the organisation
      they were recorded or arranged for (``share_results``, which recording needed too).
      Help between neighbours (no organisation) is the resident's alone.
    """
    if item.source == "learning_paths":
        return bool(learning)
    return item.organisation is not None and item.organisation in results
