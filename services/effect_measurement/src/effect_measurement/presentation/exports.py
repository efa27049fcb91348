"""CSV and JSON exports of a published table: suppressed cells carry a marker, never a value."""

from __future__ import annotations

import csv
import io
import json

from effect_measurement.domain.tables import REASON_TEXTS, Cell, PublishedTable, Row

SUPPRESSED_MARKER = "*"  # CSV legend: "*" = onderdrukt / suppressed (see the JSON for reasons)


def _text(cell: Cell) -> str:
    if cell.suppressed:
        return SUPPRESSED_MARKER
    value = cell.value
    return str(int(value)) if value is not None and float(value).is_integer() else f"{value}"


def _rows(table: PublishedTable) -> list[Row]:
    return [*table.rows, *([table.totals] if table.totals else [])]


def to_csv(table: PublishedTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*table.row_label_fields, *(c.key for c in table.columns)])
    for row in _rows(table):
        labels = [row.labels.get(name, "") for name in table.row_label_fields]
        writer.writerow([*labels, *(_text(row.cells[c.key]) for c in table.columns)])
    return out.getvalue()


def _cell_json(cell: Cell) -> dict[str, object]:
    if cell.reason is not None:
        text = REASON_TEXTS[cell.reason]
        return {
            "suppressed": True,
            "reason": cell.reason.value,
            "reason_nl": text.nl,
            "reason_en": text.en,
        }
    return {"suppressed": False, "value": cell.value}


def to_json(table: PublishedTable) -> str:
    def row_json(row: Row) -> dict[str, object]:
        return {
            "key": row.key,
            "labels": dict(row.labels),
            "cells": {c.key: _cell_json(row.cells[c.key]) for c in table.columns},
        }

    document = {
        "title": {"nl": table.title.nl, "en": table.title.en},
        "k": table.k,
        "meta": dict(table.meta),
        "columns": [
            {"key": c.key, "kind": c.kind.value, "label_nl": c.label.nl, "label_en": c.label.en}
            for c in table.columns
        ],
        "rows": [row_json(r) for r in table.rows],
        "totals": row_json(table.totals) if table.totals else None,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True)
