"""Published tables: the only shape in which aggregates leave the domain.

A cell either has a value or is suppressed with a reason, never both; exports and charts work
on this type only, so they cannot reach a suppressed value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from effect_measurement.domain.texts import Text


class SuppressionReason(StrEnum):
    SMALL_COUNT = "small_count"  # fewer than k people
    SMALL_ROW = "small_row"  # the whole group (row) has fewer than k people: nothing shown
    COMPLEMENTARY = "complementary"  # hidden so that totals cannot reveal another cell
    DIFFERENCING = "differencing"  # an overlapping published figure differs by fewer than k
    SMALL_GROUP = "small_group"  # a mean over fewer than k people, or of a suppressed group
    NOT_PUBLISHED = "not_published"  # a figure this view never publishes (e.g. total means)


REASON_TEXTS: dict[SuppressionReason, Text] = {
    SuppressionReason.SMALL_COUNT: Text("Minder dan k personen.", "Fewer than k people."),
    SuppressionReason.SMALL_ROW: Text(
        "Groep van minder dan k personen: niets ervan wordt getoond.",
        "A group of fewer than k people: none of it is shown.",
    ),
    SuppressionReason.COMPLEMENTARY: Text(
        "Verborgen zodat totalen geen andere cel verraden.",
        "Hidden so that totals cannot reveal another cell.",
    ),
    SuppressionReason.DIFFERENCING: Text(
        "Verborgen: verschil met een overlappende periode of dimensie is te klein.",
        "Hidden: the difference with an overlapping period or dimension is too small.",
    ),
    SuppressionReason.SMALL_GROUP: Text(
        "Gemiddelde over te weinig personen.", "Mean over too few people."
    ),
    SuppressionReason.NOT_PUBLISHED: Text(
        "Wordt op dit niveau niet gepubliceerd.", "Not published at this level."
    ),
}


class ColumnKind(StrEnum):
    COUNT = "count"
    MEAN = "mean"
    SHARE = "share"


@dataclass(frozen=True, slots=True)
class Cell:
    value: float | None = None
    reason: SuppressionReason | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.reason is None):
            raise ValueError("a cell has either a value or a suppression reason")

    @property
    def suppressed(self) -> bool:
        return self.reason is not None


def shown(value: float) -> Cell:
    return Cell(value=value)


def hidden(reason: SuppressionReason) -> Cell:
    return Cell(reason=reason)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: Text
    kind: ColumnKind = ColumnKind.COUNT


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    labels: Mapping[str, str]  # e.g. {"organisation": "Organisatie A", "neighbourhood": "wijk-01"}
    cells: Mapping[str, Cell]


@dataclass(frozen=True, slots=True)
class PublishedTable:
    title: Text
    k: int
    row_label_fields: tuple[str, ...]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    totals: Row | None = None  # true column totals, themselves protected
    meta: Mapping[str, str] = field(default_factory=dict)

    def cell(self, row_key: str, column_key: str) -> Cell:
        for row in (*self.rows, *([self.totals] if self.totals else [])):
            if row.key == row_key:
                return row.cells[column_key]
        raise KeyError(row_key)
