"""The archive a resident downloads: one ZIP with a JSON file per service, the questionnaire
responses as a FHIR bundle of their own (when the questionnaires part holds one), and a
readable summary (`samenvatting.html`, Dutch first with English; Jinja2, autoescaped).

Pure formatting: the parts come in as dicts, the summary's words are chosen by the service
layer (`domain.descriptions`); nothing here reads the database or the object store.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any

from jinja2 import Environment, select_autoescape

SUMMARY = "samenvatting.html"
FHIR_FILE = "questionnaires-fhir-bundle.json"

_env = Environment(autoescape=select_autoescape(default=True), auto_reload=False)
_template = _env.from_string(
    files("identity").joinpath("templates/export_summary.html").read_text(encoding="utf-8")
)


def part_file(service: str) -> str:
    return f"{service}.json"


def fhir_bundle(part: Mapping[str, Any]) -> dict[str, Any] | None:
    """The FHIR R4 Bundle a questionnaires part holds (any top-level value that is one)."""
    for value in part.values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            return value
    return None


@dataclass(frozen=True)
class SummaryRow:
    """One line of a table in the summary, each cell bilingual (nl, en)."""

    cells: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SummarySection:
    title: tuple[str, str]
    intro: tuple[str, str] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    rows: tuple[SummaryRow, ...] = ()
    empty: tuple[str, str] = ("Niets.", "Nothing.")


@dataclass(frozen=True)
class Summary:
    created_at: datetime
    requested: tuple[str, str]
    sections: tuple[SummarySection, ...]
    files: tuple[tuple[str, tuple[str, str]], ...] = field(default=())


def render_summary(summary: Summary) -> str:
    return _template.render(summary=summary)


def build_archive(parts: Mapping[str, Mapping[str, Any]], summary: Summary) -> bytes:
    """`parts`: service -> its part (identity's own included)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SUMMARY, render_summary(summary))
        for service in sorted(parts):
            text = json.dumps(parts[service], ensure_ascii=False, indent=2, default=str)
            archive.writestr(part_file(service), text)
        bundle = fhir_bundle(parts.get("questionnaires", {}))
        if bundle is not None:
            archive.writestr(FHIR_FILE, json.dumps(bundle, ensure_ascii=False, indent=2))
    return buffer.getvalue()
