"""Tenant-editable category tree and its mapping to Positieve Gezondheid dimensions."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from social_map.domain.errors import DomainValidationError, FieldError


class Dimension(StrEnum):
    """Questionnaire dimension codes (owned by the questionnaires service; mirrored here)."""

    BODILY_FUNCTIONS = "bodily_functions"
    MENTAL_WELLBEING = "mental_wellbeing"
    MEANINGFULNESS = "meaningfulness"
    QUALITY_OF_LIFE = "quality_of_life"
    PARTICIPATION = "participation"
    DAILY_FUNCTIONING = "daily_functioning"


CategoryCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,60}$")]


class Category(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    code: CategoryCode
    parent: CategoryCode | None = None
    label_nl: Annotated[str, Field(min_length=1, max_length=100)]
    label_en: Annotated[str, Field(min_length=1, max_length=100)]
    dimensions: list[Dimension] = []
    #: extra Dutch search words for this category (feed the analyzer's lexicon/synonyms).
    keywords: list[Annotated[str, Field(max_length=60)]] = []


class Taxonomy:
    """A validated category tree. Construct with `Taxonomy.build(categories)`."""

    def __init__(self, categories: dict[str, Category], children: dict[str, list[str]]) -> None:
        self._categories = categories
        self._children = children

    @classmethod
    def build(cls, categories: Iterable[Category]) -> Taxonomy:
        """Validate: unique codes, known parents, no cycles. Errors name `categories[i].field`."""
        cats = list(categories)
        errors: list[FieldError] = []
        by_code: dict[str, Category] = {}
        for i, c in enumerate(cats):
            if c.code in by_code:
                errors.append(FieldError(f"categories[{i}].code", f"duplicate code {c.code!r}"))
            by_code[c.code] = c
        for i, c in enumerate(cats):
            if c.parent is not None and c.parent not in by_code:
                errors.append(FieldError(f"categories[{i}].parent", f"unknown parent {c.parent!r}"))
            elif c.parent == c.code:
                errors.append(
                    FieldError(f"categories[{i}].parent", "a category cannot be its own parent")
                )
        if not errors:
            for i, c in enumerate(cats):
                seen = {c.code}
                node = c.parent
                while node is not None:
                    if node in seen:
                        errors.append(
                            FieldError(f"categories[{i}].parent", f"cycle through {node!r}")
                        )
                        break
                    seen.add(node)
                    node = by_code[node].parent
        if errors:
            raise DomainValidationError(errors)
        children: dict[str, list[str]] = {code: [] for code in by_code}
        for c in cats:
            if c.parent is not None:
                children[c.parent].append(c.code)
        return cls(by_code, {k: sorted(v) for k, v in children.items()})

    @property
    def categories(self) -> list[Category]:
        return list(self._categories.values())

    def __contains__(self, code: object) -> bool:
        return code in self._categories

    def get(self, code: str) -> Category:
        try:
            return self._categories[code]
        except KeyError:
            raise DomainValidationError.single("category", f"unknown category {code!r}") from None

    def descendants(self, code: str) -> set[str]:
        """The category and everything below it."""
        self.get(code)
        out: set[str] = set()
        stack = [code]
        while stack:
            node = stack.pop()
            out.add(node)
            stack.extend(self._children[node])
        return out

    def ancestors(self, code: str) -> list[str]:
        out: list[str] = []
        node = self.get(code).parent
        while node is not None:
            out.append(node)
            node = self._categories[node].parent
        return out

    def dimensions_for(self, code: str) -> list[Dimension]:
        """Own dimensions; a category without any inherits its nearest ancestor's."""
        for c in [code, *self.ancestors(code)]:
            if self._categories[c].dimensions:
                return list(self._categories[c].dimensions)
        return []

    def categories_for_dimension(self, dimension: Dimension) -> set[str]:
        return {c for c in self._categories if dimension in self.dimensions_for(c)}

    def label(self, code: str, lang: str = "nl") -> str:
        c = self.get(code)
        return c.label_en if lang == "en" else c.label_nl

    def search_words(self, code: str) -> list[str]:
        """Words that describe a category in search: its labels, keywords and ancestors' labels."""
        words: list[str] = []
        for c in [code, *self.ancestors(code)]:
            cat = self._categories[c]
            words += [cat.label_nl, *cat.keywords]
        return words

    def validate_codes(self, codes: Iterable[str], field: str = "category_codes") -> None:
        errors = [
            FieldError(f"{field}[{i}]", f"unknown category {c!r}")
            for i, c in enumerate(codes)
            if c not in self
        ]
        if errors:
            raise DomainValidationError(errors)


def _c(
    code: str, parent: str | None, nl: str, en: str, dims: list[Dimension], kw: list[str]
) -> Category:
    return Category(
        code=code, parent=parent, label_nl=nl, label_en=en, dimensions=dims, keywords=kw
    )


D = Dimension
DEFAULT_CATEGORIES: list[Category] = [
    _c(
        "bewegen",
        None,
        "Bewegen en sport",
        "Exercise and sport",
        [D.BODILY_FUNCTIONS, D.PARTICIPATION],
        ["sport", "beweging"],
    ),
    _c(
        "wandelen",
        "bewegen",
        "Wandelen",
        "Walking",
        [D.PARTICIPATION, D.BODILY_FUNCTIONS],
        ["wandelgroep", "lopen", "wandeling"],
    ),
    _c(
        "beweegles",
        "bewegen",
        "Beweeglessen",
        "Exercise classes",
        [D.BODILY_FUNCTIONS],
        ["gym", "yoga", "fitness", "dansen"],
    ),
    _c(
        "ontmoeting",
        None,
        "Ontmoeting",
        "Meeting people",
        [D.PARTICIPATION, D.QUALITY_OF_LIFE],
        ["ontmoeten", "buurthuis"],
    ),
    _c(
        "koffieochtend",
        "ontmoeting",
        "Koffieochtend en inloop",
        "Coffee morning and drop-in",
        [D.PARTICIPATION, D.MENTAL_WELLBEING],
        ["koffie", "inloop"],
    ),
    _c(
        "samen_eten",
        "ontmoeting",
        "Samen eten",
        "Shared meals",
        [D.PARTICIPATION, D.QUALITY_OF_LIFE],
        ["maaltijd", "eettafel"],
    ),
    _c(
        "eenzaamheid",
        "ontmoeting",
        "Eenzaamheid",
        "Loneliness",
        [D.PARTICIPATION, D.MENTAL_WELLBEING],
        ["eenzaam", "maatje"],
    ),
    _c(
        "geldzaken",
        None,
        "Geldzaken",
        "Money matters",
        [D.DAILY_FUNCTIONING, D.QUALITY_OF_LIFE],
        ["geld", "budget"],
    ),
    _c(
        "schulden",
        "geldzaken",
        "Schuldhulp",
        "Debt help",
        [D.DAILY_FUNCTIONING, D.MENTAL_WELLBEING],
        ["schulden", "schuld"],
    ),
    _c(
        "administratie",
        "geldzaken",
        "Hulp bij administratie",
        "Help with paperwork",
        [D.DAILY_FUNCTIONING],
        ["formulieren", "post"],
    ),
    _c("zorg_welzijn", None, "Zorg en welzijn", "Care and wellbeing", [D.MENTAL_WELLBEING], []),
    _c(
        "mantelzorg",
        "zorg_welzijn",
        "Mantelzorgondersteuning",
        "Support for informal carers",
        [D.MENTAL_WELLBEING, D.DAILY_FUNCTIONING],
        ["mantelzorger", "respijt"],
    ),
    _c(
        "psychisch",
        "zorg_welzijn",
        "Psychisch welbevinden",
        "Mental wellbeing",
        [D.MENTAL_WELLBEING],
        ["stress", "somber"],
    ),
    _c(
        "rouw",
        "zorg_welzijn",
        "Rouw en verlies",
        "Grief and loss",
        [D.MENTAL_WELLBEING, D.MEANINGFULNESS],
        ["rouwverwerking", "verlies"],
    ),
    _c("leren", None, "Leren en ontwikkelen", "Learning", [D.MEANINGFULNESS], ["cursus"]),
    _c(
        "taal",
        "leren",
        "Taal",
        "Language",
        [D.PARTICIPATION, D.DAILY_FUNCTIONING],
        ["taalcafe", "nederlands", "lezen", "schrijven"],
    ),
    _c(
        "digitaal",
        "leren",
        "Digitale vaardigheden",
        "Digital skills",
        [D.DAILY_FUNCTIONING, D.PARTICIPATION],
        ["computer", "digid", "smartphone"],
    ),
    _c("gezin", None, "Gezin en opvoeding", "Family and parenting", [D.DAILY_FUNCTIONING], []),
    _c(
        "opvoeding",
        "gezin",
        "Opvoedingsondersteuning",
        "Parenting support",
        [D.MENTAL_WELLBEING, D.DAILY_FUNCTIONING],
        ["opvoeden", "ouders"],
    ),
    _c(
        "jongeren",
        "gezin",
        "Jongerenwerk",
        "Youth work",
        [D.PARTICIPATION, D.MEANINGFULNESS],
        ["jeugd", "tieners"],
    ),
    _c("meedoen", None, "Meedoen", "Taking part", [D.MEANINGFULNESS, D.PARTICIPATION], []),
    _c(
        "vrijwilligerswerk",
        "meedoen",
        "Vrijwilligerswerk",
        "Volunteering",
        [D.MEANINGFULNESS, D.PARTICIPATION],
        ["vrijwilliger"],
    ),
    _c(
        "creatief",
        "meedoen",
        "Creatief en cultuur",
        "Arts and culture",
        [D.MEANINGFULNESS, D.QUALITY_OF_LIFE],
        ["schilderen", "muziek", "handwerken"],
    ),
    _c(
        "wonen",
        None,
        "Wonen en woonomgeving",
        "Housing and surroundings",
        [D.QUALITY_OF_LIFE, D.DAILY_FUNCTIONING],
        ["woning", "buurt"],
    ),
]


def default_taxonomy() -> Taxonomy:
    """The demo taxonomy (24 categories); tenants start from it and edit."""
    return Taxonomy.build(DEFAULT_CATEGORIES)
