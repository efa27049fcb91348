"""Query parameter validation (pure). The HTTP layer turns ``QueryErrors`` into a 422.

Queries may only fix the projection's own dimensions; any other parameter is an error, so there
is no free-form filter with which two overlapping selections could be subtracted.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from effect_measurement.domain.benchmark import Metric
from effect_measurement.domain.keys import ALL_DIMENSIONS, PROFILE_ATTRIBUTES
from effect_measurement.domain.periods import Period, PeriodKind, parse_period, period_index
from effect_measurement.domain.policy import MAXIMUM_K, PrivacyPolicy
from effect_measurement.domain.texts import Text

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
MAX_RANGE_POINTS = 36
AGGREGATE_PARAMETERS = frozenset(
    {
        "family",
        "dimension",
        "period",
        "period_kind",
        "organisation",
        "k",
        "metric",
        "attribute",
        "period_from",
        "period_to",
    }
)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: Text


class QueryErrors(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message.en}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    family: str
    dimension: str
    periods: tuple[Period, ...]  # one, or a validated range of the same kind
    k: int
    organisation: str | None = None
    metric: Metric | None = None
    attribute: str | None = None


def _period(value: str, field: str, errors: list[FieldError]) -> Period | None:
    period = parse_period(value)
    if period is None:
        errors.append(
            FieldError(
                field,
                "invalid_period",
                Text(
                    "Gebruik een maand (2026-11), kwartaal (2026-Q4) of jaar (2026).",
                    "Use a month (2026-11), quarter (2026-Q4) or year (2026).",
                ),
            )
        )
    return period


def validate_aggregate_query(
    params: Mapping[str, str],
    *,
    families: Mapping[str, Collection[str]],
    policy: PrivacyPolicy,
) -> AggregateQuery:
    """Validate raw query parameters; ``families`` maps each instrument family to its dimensions."""
    errors: list[FieldError] = []
    for name in sorted(set(params) - AGGREGATE_PARAMETERS):
        errors.append(
            FieldError(
                name,
                "unknown_parameter",
                Text(
                    "Onbekende parameter; alleen vaste dimensies zijn toegestaan.",
                    "Unknown parameter; only fixed dimensions are allowed.",
                ),
            )
        )

    family = params.get("family", "")
    if family not in families:
        errors.append(
            FieldError(
                "family", "unknown_instrument", Text("Onbekend instrument.", "Unknown instrument.")
            )
        )
    dimension = params.get("dimension", ALL_DIMENSIONS)
    if family in families and dimension != ALL_DIMENSIONS and dimension not in families[family]:
        errors.append(
            FieldError(
                "dimension",
                "unknown_dimension",
                Text(
                    "Onbekend thema of domein voor dit instrument.",
                    "Unknown theme or domain for this instrument.",
                ),
            )
        )

    periods: list[Period] = []
    if "period" in params:
        if {"period_from", "period_to"} & set(params):
            errors.append(
                FieldError(
                    "period",
                    "conflict",
                    Text(
                        "Gebruik period óf period_from/period_to.",
                        "Use period or period_from/period_to.",
                    ),
                )
            )
        if (p := _period(params["period"], "period", errors)) is not None:
            periods = [p]
    elif "period_from" in params and "period_to" in params:
        start = _period(params["period_from"], "period_from", errors)
        end = _period(params["period_to"], "period_to", errors)
        if start and end:
            periods = _range(start, end, errors)
    else:
        errors.append(
            FieldError("period", "required", Text("Periode is verplicht.", "Period is required."))
        )
    if "period_kind" in params:
        kinds = {k.value for k in PeriodKind}
        if params["period_kind"] not in kinds:
            errors.append(
                FieldError(
                    "period_kind",
                    "invalid",
                    Text("Kies month, quarter of year.", "Choose month, quarter or year."),
                )
            )
        elif periods and periods[0].kind.value != params["period_kind"]:
            errors.append(
                FieldError(
                    "period_kind",
                    "mismatch",
                    Text(
                        "Periode past niet bij het soort periode.",
                        "Period does not match period kind.",
                    ),
                )
            )

    k = policy.k
    if "k" in params:
        raw = params["k"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAXIMUM_K:
            errors.append(
                FieldError(
                    "k",
                    "invalid",
                    Text(
                        f"k is een geheel getal tot en met {MAXIMUM_K}.",
                        f"k is a whole number up to {MAXIMUM_K}.",
                    ),
                )
            )
        else:
            k = policy.effective_k(int(raw))  # never looser than the tenant's k

    organisation = params.get("organisation")
    if organisation is not None and not SLUG.match(organisation):
        errors.append(
            FieldError(
                "organisation",
                "invalid_slug",
                Text("Ongeldige organisatie.", "Invalid organisation."),
            )
        )

    metric: Metric | None = None
    if "metric" in params:
        try:
            metric = Metric(params["metric"])
        except ValueError:
            errors.append(
                FieldError("metric", "invalid", Text("Onbekende maat.", "Unknown metric."))
            )
    attribute = params.get("attribute")
    if attribute is not None and attribute not in PROFILE_ATTRIBUTES:
        errors.append(
            FieldError(
                "attribute",
                "invalid",
                Text(
                    "Kies age_band, household_type of neighbourhood.",
                    "Choose age_band, household_type or neighbourhood.",
                ),
            )
        )

    if errors:
        raise QueryErrors(errors)
    return AggregateQuery(family, dimension, tuple(periods), k, organisation, metric, attribute)


def _range(start: Period, end: Period, errors: list[FieldError]) -> list[Period]:
    if start.kind != end.kind:
        errors.append(
            FieldError(
                "period_to",
                "mismatch",
                Text(
                    "Begin en eind moeten van hetzelfde soort zijn.",
                    "Start and end must be of one kind.",
                ),
            )
        )
        return []
    first, last = period_index(start), period_index(end)
    if last < first:
        errors.append(
            FieldError(
                "period_to", "before_start", Text("Eind ligt voor begin.", "End lies before start.")
            )
        )
        return []
    if last - first + 1 > MAX_RANGE_POINTS:
        errors.append(
            FieldError(
                "period_to",
                "too_long",
                Text(
                    f"Hooguit {MAX_RANGE_POINTS} perioden.", f"At most {MAX_RANGE_POINTS} periods."
                ),
            )
        )
        return []
    return [_from_index(start.kind, i) for i in range(first, last + 1)]


def _from_index(kind: PeriodKind, index: int) -> Period:
    if kind is PeriodKind.MONTH:
        return Period(kind, f"{index // 12:04d}-{index % 12 + 1:02d}")
    if kind is PeriodKind.QUARTER:
        return Period(kind, f"{index // 4:04d}-Q{index % 4 + 1}")
    return Period(kind, f"{index:04d}")
