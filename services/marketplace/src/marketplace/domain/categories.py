"""Categories of posts: the social map's taxonomy, as the marketplace keeps it.

The social map owns the taxonomy. Its events carry category codes (`entry_published`,
`entry_updated`), so the marketplace's projection holds every code seen there, on top of the
social map's default tree below (a copy, like the social map's copy of identity's demo
neighbourhoods; keep them in sync), which also gives parents and questionnaire dimensions for
category fit in matching. A code the projection does not know is refused (422).

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


def _c(code: str, parent: str | None, nl: str, en: str, *dims: str) -> Category:
    return Category(code, parent, nl, en, tuple(dims))


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    _c(
        "bewegen",
        None,
        "Bewegen en sport",
        "Exercise and sport",
        "bodily_functions",
        "participation",
    ),
    _c("wandelen", "bewegen", "Wandelen", "Walking", "participation", "bodily_functions"),
    _c("beweegles", "bewegen", "Beweeglessen", "Exercise classes", "bodily_functions"),
    _c("ontmoeting", None, "Ontmoeting", "Meeting people", "participation", "quality_of_life"),
    _c(
        "koffieochtend",
        "ontmoeting",
        "Koffieochtend en inloop",
        "Coffee morning",
        "participation",
        "mental_wellbeing",
    ),
    _c(
        "samen_eten", "ontmoeting", "Samen eten", "Shared meals", "participation", "quality_of_life"
    ),
    _c(
        "eenzaamheid",
        "ontmoeting",
        "Eenzaamheid",
        "Loneliness",
        "participation",
        "mental_wellbeing",
    ),
    _c("geldzaken", None, "Geldzaken", "Money matters", "daily_functioning", "quality_of_life"),
    _c("schulden", "geldzaken", "Schuldhulp", "Debt help", "daily_functioning", "mental_wellbeing"),
    _c(
        "administratie",
        "geldzaken",
        "Hulp bij administratie",
        "Help with paperwork",
        "daily_functioning",
    ),
    _c("zorg_welzijn", None, "Zorg en welzijn", "Care and wellbeing", "mental_wellbeing"),
    _c(
        "mantelzorg",
        "zorg_welzijn",
        "Mantelzorgondersteuning",
        "Support for carers",
        "mental_wellbeing",
        "daily_functioning",
    ),
    _c(
        "psychisch", "zorg_welzijn", "Psychisch welbevinden", "Mental wellbeing", "mental_wellbeing"
    ),
    _c(
        "rouw",
        "zorg_welzijn",
        "Rouw en verlies",
        "Grief and loss",
        "mental_wellbeing",
        "meaningfulness",
    ),
    _c("leren", None, "Leren en ontwikkelen", "Learning", "meaningfulness"),
    _c("taal", "leren", "Taal", "Language", "participation", "daily_functioning"),
    _c(
        "digitaal",
        "leren",
        "Digitale vaardigheden",
        "Digital skills",
        "daily_functioning",
        "participation",
    ),
    _c("gezin", None, "Gezin en opvoeding", "Family and parenting", "daily_functioning"),
    _c(
        "opvoeding",
        "gezin",
        "Opvoedingsondersteuning",
        "Parenting support",
        "mental_wellbeing",
        "daily_functioning",
    ),
    _c("jongeren", "gezin", "Jongerenwerk", "Youth work", "participation", "meaningfulness"),
    _c("meedoen", None, "Meedoen", "Taking part", "meaningfulness", "participation"),
    _c(
        "vrijwilligerswerk",
        "meedoen",
        "Vrijwilligerswerk",
        "Volunteering",
        "meaningfulness",
        "participation",
    ),
    _c(
        "creatief",
        "meedoen",
        "Creatief en cultuur",
        "Arts and culture",
        "meaningfulness",
        "quality_of_life",
    ),
    _c(
        "wonen",
        None,
        "Wonen en woonomgeving",
        "Housing and surroundings",
        "quality_of_life",
        "daily_functioning",
    ),
)

HOME_VISIT_CATEGORIES: frozenset[str] = frozenset(
    {"administratie", "digitaal", "mantelzorg", "eenzaamheid", "wonen"}
)


_TREE = {c.code: c for c in DEFAULT_CATEGORIES}


def family_of(code: str) -> str:
    """The top of the category's branch in the tree (itself for a top-level or unknown code):
    what matching reads together."""
    cat = _TREE.get(code)
    while cat is not None and cat.parent is not None:
        cat = _TREE.get(cat.parent)
    return code if cat is None else cat.code


class Categories:
    """The tenant's known categories: the default tree plus codes seen in social-map events
    (codes without a known parent or dimensions fit only themselves in matching)."""

    def __init__(self, seen: Iterable[str] = ()) -> None:
        self._tree = {c.code: c for c in DEFAULT_CATEGORIES}
        self._codes = set(self._tree) | set(seen)
        self._fits: dict[tuple[str, str], float] = {}

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    @property
    def codes(self) -> list[str]:
        return sorted(self._codes)

    def get(self, code: str) -> Category | None:
        return self._tree.get(code)

    def label(self, code: str, lang: str = "nl") -> str:
        cat = self._tree.get(code)
        if cat is None:
            return code
        return cat.label_en if lang == "en" else cat.label_nl

    def require(self, code: str, field: str = "category") -> str:
        if code not in self._codes:
            raise DomainValidationError.single(field, f"unknown category {code!r}")
        return code

    def family(self, code: str) -> str:
        return family_of(code)

    @property
    def families(self) -> list[str]:
        return sorted({family_of(c) for c in self._codes})

    def dimensions(self, code: str) -> frozenset[str]:
        cat = self._tree.get(code)
        while cat is not None and not cat.dimensions and cat.parent is not None:
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
