"""How this service keeps its published statistics from being reversed (issue 10).

Method: statistical disclosure control as Statistics Netherlands (CBS) practises it for
tables of counts: suppression plus rounding to a base, with consistent publication over time.
Chosen over differential privacy because the figures are read by social workers and
municipal analysts next to their own caseloads (exact, explainable numbers; no noise that
makes a row disagree with itself), because there is no per-tenant privacy budget to run out
of a year in, and because the same query over the same data always gives the same answer
(an attacker cannot average repeated noisy answers away).

The rules, applied to every published table (aggregate reports, their transitions and
benchmarks, persona tables):

1. **Whole groups**: a row (a group of people: organisation × neighbourhood in a report, a
   profile value in a persona table) with fewer than k people publishes nothing but
   "suppressed": no zeros, no "baseline only", no means, nothing to subtract from.
2. **Totals that move with a hidden group's content are not published**: while a report
   has a row suppressed whole, its totals of the outcome columns (baseline only, improved,
   same, worse) are hidden, because a follow-up in that row moves one person from "baseline
   only" to one of the others in them. The total of residents measured is published (a
   follow-up does not change it), protected by complementary suppression like any cell.
   Transitions are published only with those totals (all or nothing), benchmarks count
   only published rows.
3. **Small cells in published rows**: counts with 0 < n < k are suppressed, and further
   cells (complements) until no suppressed cell can be solved from the published cells and
   totals (`suppression.py`); a zero in a row beside a suppressed cell is hidden too (a
   published zero would narrow its neighbours down).
4. **Rounding to a base** (`round_to_base`, default base 5, `policy.DEFAULT_ROUNDING_BASE`):
   published counts are rounded half up to a multiple of the base. Deterministic, so it is
   consistent over time: a figure whose true value did not change is published unchanged.
   It blurs sums of published cells and the change of one person in a published row (a
   change of one moves a rounded figure only when it crosses a rounding boundary).
5. **Linked queries**: figures of reports whose populations nest (periods, dimensions) that
   differ by 1..k-1 are hidden in both (`reports.py`); queries can fix only the projection's
   dimensions.

What it guarantees (tested adversarially with hypothesis in
`tests/unit/test_disclosure_over_time.py`): for a person in a row below k, every published
output of the same query is identical whatever the outcome of their follow-up (improved,
same or worse), so an attacker who queries before and after cannot tell the outcome better
than chance. When the follow-up adds the person to no new period (the baseline's month), the
outputs are identical to those before it; a follow-up in a later month shows, in that
month's population and in the reports linked to it, that a follow-up happened, never its
outcome. No published row shows a zero beside a suppressed cell.

What it does not guarantee: a person in a published row (k or more people) whose follow-up
the attacker knows about moves that row's figures by one before rounding; rounding hides it
unless a figure crosses a boundary, and means of published rows (shown only over k or more
people) move with it.
"""

from __future__ import annotations


def round_to_base(value: int, base: int) -> int:
    """`value` rounded half up to a multiple of `base` (base 1: unchanged). A published
    count is 0 or at least k (>= 5 >= base), so it never rounds to 0."""
    if base <= 1:
        return value
    return ((value + base // 2) // base) * base
