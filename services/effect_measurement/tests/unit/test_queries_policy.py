from __future__ import annotations

import pytest
from effect_measurement.domain.periods import PeriodKind, nested_periods, parse_period, quarter
from effect_measurement.domain.policy import PrivacyPolicy
from effect_measurement.domain.queries import QueryErrors, validate_aggregate_query
from effect_measurement.domain.texts import DomainError

FAMILIES = {"zrm": ["finances", "housing"]}


def fields_of(params: dict[str, str]) -> set[str]:
    with pytest.raises(QueryErrors) as caught:
        validate_aggregate_query(params, families=FAMILIES, policy=PrivacyPolicy())
    return {e.field for e in caught.value.errors}


def test_valid_query_and_k_never_below_tenant() -> None:
    query = validate_aggregate_query(
        {"family": "zrm", "dimension": "finances", "period": "2026-Q4", "k": "5"},
        families=FAMILIES,
        policy=PrivacyPolicy(k=12),
    )
    assert query.periods == (quarter(2026, 4),) and query.k == 12


def test_range_expands_to_fixed_periods() -> None:
    query = validate_aggregate_query(
        {"family": "zrm", "period_from": "2025-11", "period_to": "2026-02"},
        families=FAMILIES,
        policy=PrivacyPolicy(),
    )
    assert [p.label for p in query.periods] == ["2025-11", "2025-12", "2026-01", "2026-02"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"family": "nope", "period": "2026"}, "family"),
        ({"family": "zrm", "dimension": "x", "period": "2026"}, "dimension"),
        ({"family": "zrm", "period": "2026-13"}, "period"),
        ({"family": "zrm", "period": "2026-03-01"}, "period"),
        ({"family": "zrm"}, "period"),
        ({"family": "zrm", "period": "2026", "period_kind": "month"}, "period_kind"),
        ({"family": "zrm", "period": "2026", "k": "abc"}, "k"),
        ({"family": "zrm", "period": "2026", "person_id": "p1"}, "person_id"),
        ({"family": "zrm", "period": "2026", "organisation": "Bad Org"}, "organisation"),
        ({"family": "zrm", "period": "2026", "metric": "max"}, "metric"),
        ({"family": "zrm", "period": "2026", "attribute": "name"}, "attribute"),
        ({"family": "zrm", "period_from": "2026-05", "period_to": "2026-01"}, "period_to"),
        ({"family": "zrm", "period_from": "2020-01", "period_to": "2026-01"}, "period_to"),
        ({"family": "zrm", "period_from": "2026", "period_to": "2026-Q1"}, "period_to"),
    ],
)
def test_invalid_parameters_name_their_field(params: dict[str, str], field: str) -> None:
    assert field in fields_of(params)


@pytest.mark.parametrize("k", [4, 0, -1, 1001])
def test_k_floor(k: int) -> None:
    with pytest.raises(DomainError) as caught:
        PrivacyPolicy(k=k)
    assert caught.value.field == "k"


def test_period_nesting() -> None:
    q4 = parse_period("2026-Q4")
    assert q4 is not None and q4.kind is PeriodKind.QUARTER
    assert {p.label for p in nested_periods(q4)} == {"2026", "2026-10", "2026-11", "2026-12"}
