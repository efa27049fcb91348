"""Text relevance of many hits at once, with set operations instead of a loop per entry.

An entry's text score is, per query term, the best `field weight × alternative weight` over
the term's alternatives, summed over the terms (then divided by a constant). Field weights
take three values, so the index keeps, beside the postings of a token (any field), the ids
whose best field for it is the title or a category (`Postings.strong`). Walking a term's
(value, ids) levels from the highest value down, each id takes the first level holding it:
that is its best value. Summing level by level groups the hits into classes of equal text
score — the same floats, added in the same order, as the per-entry loop of `ranking.rank`.
"""

from __future__ import annotations

from social_map.domain.ranking import FIELD_WEIGHTS
from social_map.domain.search_prefilter import discard_member
from social_map.domain.text_analysis import QueryTerm

#: the lowest field weight: a token's full postings stand for it (higher levels come first)
BASE_WEIGHT = min(FIELD_WEIGHTS.values())


class Postings:
    """token → ids (any field) and (token, field weight) → ids for the weights above the base."""

    __slots__ = ("any", "strong")

    def __init__(self) -> None:
        self.any: dict[str, set[str]] = {}
        self.strong: dict[tuple[str, float], set[str]] = {}

    def add(self, entry_id: str, weights: dict[str, float]) -> None:
        for token, w in weights.items():
            self.any.setdefault(token, set()).add(entry_id)
            if w != BASE_WEIGHT:
                self.strong.setdefault((token, w), set()).add(entry_id)

    def discard(self, entry_id: str, weights: dict[str, float]) -> None:
        for token, w in weights.items():
            discard_member(self.any, token, entry_id)
            if w != BASE_WEIGHT:
                discard_member(self.strong, (token, w), entry_id)

    def union(self, terms: list[QueryTerm]) -> set[str]:
        """Ids holding any alternative of any term."""
        out: set[str] = set()
        for term in terms:
            for token in term.alternatives:
                ids = self.any.get(token)
                if ids:
                    out |= ids
        return out

    def levels(self, term: QueryTerm) -> list[tuple[float, set[str]]]:
        """(value, ids) of one term, highest value first; an id's best value is that of the
        first level holding it (the base level is the token's full postings)."""
        out: list[tuple[float, set[str]]] = []
        for token, w in term.alternatives.items():
            ids = self.any.get(token)
            if not ids:
                continue
            for fw in FIELD_WEIGHTS.values():
                if fw != BASE_WEIGHT and (strong := self.strong.get((token, fw))):
                    out.append((fw * w, strong))
            out.append((BASE_WEIGHT * w, ids))
        out.sort(key=lambda level: -level[0])
        return out


def text_classes(
    hits: set[str], terms: list[QueryTerm], postings: Postings
) -> list[tuple[float, set[str]]]:
    """Hits grouped by their summed best term values (the text score × the normaliser),
    highest first; hits matching no term (sum 0) are left out. `hits` is not changed."""
    classes: dict[float, set[str]] = {0.0: hits}
    for term in terms:
        levels = postings.levels(term)
        refined: dict[float, set[str]] = {}
        for total, members in classes.items():
            rest = set(members)
            for value, ids in levels:
                if not rest:
                    break
                part = rest & ids
                if part:
                    rest -= part
                    _merge(refined, total + value, part)
            if rest:
                _merge(refined, total + 0.0, rest)
        classes = refined
    return sorted(
        ((t, ids) for t, ids in classes.items() if t > 0.0 and ids), key=lambda item: -item[0]
    )


def _merge(classes: dict[float, set[str]], total: float, ids: set[str]) -> None:
    current = classes.get(total)
    if current is None:
        classes[total] = ids
    else:
        current |= ids
