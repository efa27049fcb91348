"""Categories of posts: the social map's taxonomy, as the marketplace keeps it.

The social map owns the taxonomy and publishes the whole tree when it changes
(`taxonomy_changed`: codes, parents, labels, questionnaire dimensions); the marketplace keeps
the newest version it received (`service.projections`) and knows no other categories. A code
the projection does not know is refused (422), also before the tenant's taxonomy arrived.
Parents give the family (the root of a code's branch) and dimensions the category fit in
matching.

`HOME_VISIT_CATEGORIES`: help that usually takes a volunteer into someone's home; a group
may require a valid certificate of conduct (VOG) for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from marketplace.domain.errors import DomainValidationError

CODE_PATTERN = r"^[a-z][a-z0-9_.-]{0,60}$"


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    parent: str | None
    label_nl: str
    label_en: str
    dimensions: tuple[str, ...] = ()


HOME_VISIT_CATEGORIES: frozenset[str] = frozenset(
    {"administratie", "digitaal", "mantelzorg", "eenzaamheid", "wonen"}
)


class Categories:
    """The tenant's taxonomy as projected (codes without a known parent or dimensions fit
    only themselves in matching)."""

    def __init__(self, terms: Iterable[Category] = ()) -> None:
        self._tree = {c.code: c for c in terms}
        self._fits: dict[tuple[str, str], float] = {}
        self._family: dict[str, str] = {c: self._root(c) for c in self._tree}
        self._members: dict[str, list[str]] = {}
        for code, family in sorted(self._family.items()):
            self._members.setdefault(family, []).append(code)

    def _root(self, code: str) -> str:
        cat, seen = self._tree.get(code), {code}
        while cat is not None and cat.parent is not None and cat.parent not in seen:
            seen.add(cat.parent)
            parent = self._tree.get(cat.parent)
            if parent is None:
                break
            cat = parent
        return code if cat is None else cat.code

    def __contains__(self, code: object) -> bool:
        return code in self._tree

    def __len__(self) -> int:
        return len(self._tree)

    @property
    def codes(self) -> list[str]:
        return sorted(self._tree)

    @property
    def terms(self) -> list[Category]:
        return [self._tree[c] for c in self.codes]

    def get(self, code: str) -> Category | None:
        return self._tree.get(code)

    def label(self, code: str, lang: str = "nl") -> str:
        cat = self._tree.get(code)
        if cat is None:
            return code
        return cat.label_en if lang == "en" else cat.label_nl

    def require(self, code: str, field: str = "category") -> str:
        if code not in self._tree:
            raise DomainValidationError.single(field, f"unknown category {code!r}")
        return code

    def family(self, code: str) -> str:
        """The top of the category's branch (itself for a top-level or unknown code): what
        matching reads together."""
        return self._family.get(code, code)

    def members(self, family: str) -> list[str]:
        """The codes of a family (a branch), the family's own code included."""
        return self._members.get(family, [family])

    @property
    def families(self) -> list[str]:
        return sorted(self._members)

    def dimensions(self, code: str) -> frozenset[str]:
        cat, seen = self._tree.get(code), {code}
        while cat is not None and not cat.dimensions and cat.parent not in (None, *seen):
            assert cat.parent is not None
            seen.add(cat.parent)
            cat = self._tree.get(cat.parent)
        return frozenset(cat.dimensions) if cat is not None else frozenset()

    def fit(self, wanted: str, offered: str) -> float:
        """How well `offered` serves a request for `wanted`: 1 the same category, 0.6 the same
        branch, 0.3 a shared questionnaire dimension, else 0 (remembered per pair)."""
        key = (wanted, offered)
        found = self._fits.get(key)
        if found is None:
            found = self._fits[key] = self._fit(wanted, offered)
        return found

    def _fit(self, wanted: str, offered: str) -> float:
        if wanted == offered:
            return 1.0
        if self.family(wanted) == self.family(offered):
            return 0.6
        if self.dimensions(wanted) & self.dimensions(offered):
            return 0.3
        return 0.0
