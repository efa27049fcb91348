"""The social map's default category tree (its taxonomy version 0), as the social map
announces it (`taxonomy_changed`): for the demo data, the benchmark and tests, which play the
social map. The service itself knows only the taxonomy projected from the social map's events
(`domain.categories`, `service.projections`)."""

from __future__ import annotations

from wijkkracht_common.events.social_map import TaxonomyChanged, TaxonomyTermFacts

from marketplace.domain.categories import Category


def _c(code: str, parent: str | None, nl: str, en: str, *dims: str) -> Category:
    return Category(code, parent, nl, en, tuple(dims))


DEFAULT_TREE: tuple[Category, ...] = (
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


def default_taxonomy(version: int = 0) -> TaxonomyChanged:
    """The event the social map publishes for its default tree."""
    return TaxonomyChanged(
        version=version,
        terms=[
            TaxonomyTermFacts(
                code=c.code,
                parent_code=c.parent,
                labels={"nl": c.label_nl, "en": c.label_en},
                dimensions=list(c.dimensions),
            )
            for c in DEFAULT_TREE
        ],
    )
