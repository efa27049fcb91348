"""Shared dimension code list (crosswalk).

Every item and scoring rule of every instrument reports on one of these codes, so that variants
(full, short, child, ...) and different instruments are comparable across organisations.
Codes are stable identifiers: never rename or reuse one; add new codes instead.
Organisations' own instruments may use private codes prefixed with ``custom.``; those are not
compared across organisations.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from questionnaires.domain.i18n import LocalizedText, t

Category = Literal["health", "effect_theme", "self_sufficiency", "staff_survey", "satisfaction"]

CUSTOM_PREFIX = "custom."


class Dimension(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    category: Category
    label: LocalizedText


def _d(code: str, category: Category, nl: str, en: str) -> Dimension:
    return Dimension(code=code, category=category, label=t(nl, en))


_ALL: tuple[Dimension, ...] = (
    # The six health dimensions of the spider-web self-assessment.
    _d("bodily_functions", "health", "Lichaamsfuncties", "Bodily functions"),
    _d("mental_wellbeing", "health", "Mentaal welbevinden", "Mental wellbeing"),
    _d("meaningfulness", "health", "Zingeving", "Meaningfulness"),
    _d("quality_of_life", "health", "Kwaliteit van leven", "Quality of life"),
    _d("participation", "health", "Meedoen", "Participation"),
    _d("daily_functioning", "health", "Dagelijks functioneren", "Daily functioning"),
    # Effect-monitor themes (phase of behaviour change per theme).
    _d("informal_care", "effect_theme", "Mantelzorg", "Informal care"),
    _d("relationship", "effect_theme", "Relatie", "Relationship"),
    _d("household_budget", "effect_theme", "Huishoudboekje", "Household budget"),
    # The 13 life domains of the self-sufficiency matrix (the 2017 edition of the Dutch
    # Zelfredzaamheid-Matrix: basic and instrumental ADL are separate domains).
    _d("finances", "self_sufficiency", "Financiën", "Finances"),
    _d("work_education", "self_sufficiency", "Werk en opleiding", "Work and education"),
    _d("daytime_activities", "self_sufficiency", "Tijdsbesteding", "Daytime activities"),
    _d("housing", "self_sufficiency", "Huisvesting", "Housing"),
    _d("domestic_relations", "self_sufficiency", "Huiselijke relaties", "Domestic relations"),
    _d("mental_health", "self_sufficiency", "Geestelijke gezondheid", "Mental health"),
    _d("physical_health", "self_sufficiency", "Lichamelijke gezondheid", "Physical health"),
    _d("substance_use", "self_sufficiency", "Middelengebruik", "Substance use"),
    _d("basic_adl", "self_sufficiency", "Basale ADL", "Basic activities of daily living"),
    _d(
        "instrumental_adl",
        "self_sufficiency",
        "Instrumentele ADL",
        "Instrumental activities of daily living",
    ),
    _d("social_network", "self_sufficiency", "Sociaal netwerk", "Social network"),
    _d(
        "community_participation",
        "self_sufficiency",
        "Maatschappelijke participatie",
        "Community participation",
    ),
    _d("justice", "self_sufficiency", "Justitie", "Justice"),
    # Technology-acceptance constructs for staff surveys.
    _d("performance_expectancy", "staff_survey", "Verwacht nut", "Performance expectancy"),
    _d("effort_expectancy", "staff_survey", "Verwacht gebruiksgemak", "Effort expectancy"),
    _d("social_influence", "staff_survey", "Sociale invloed", "Social influence"),
    _d(
        "facilitating_conditions",
        "staff_survey",
        "Ondersteunende voorwaarden",
        "Facilitating conditions",
    ),
    _d("behavioural_intention", "staff_survey", "Gebruiksintentie", "Behavioural intention"),
    # Client satisfaction.
    _d("client_satisfaction", "satisfaction", "Cliënttevredenheid", "Client satisfaction"),
)

DIMENSIONS: dict[str, Dimension] = {d.code: d for d in _ALL}


def is_known_dimension(code: str) -> bool:
    """Crosswalk codes, plus private ``custom.<name>`` codes of organisations' own instruments."""
    if code in DIMENSIONS:
        return True
    rest = code[len(CUSTOM_PREFIX) :] if code.startswith(CUSTOM_PREFIX) else ""
    return bool(rest) and rest.replace("_", "").isalnum() and rest.islower()


def dimension_label(code: str) -> LocalizedText:
    found = DIMENSIONS.get(code)
    return found.label if found else LocalizedText(nl=code, en=code)


def dimensions_in(category: Category) -> list[Dimension]:
    return [d for d in _ALL if d.category == category]


__all__ = [
    "CUSTOM_PREFIX",
    "DIMENSIONS",
    "Category",
    "Dimension",
    "dimension_label",
    "dimensions_in",
    "is_known_dimension",
]
