"""Loads the demo instruments shipped as JSON in `questionnaires.instruments`.

The only module of the domain that reads files (package data, through importlib.resources).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.errors import InvalidDefinition
from questionnaires.domain.importing import import_definition_json

PACKAGE = "questionnaires.instruments"


@cache
def shipped_instruments() -> tuple[InstrumentDefinition, ...]:
    """All shipped definitions, checked like an import; a broken file fails loudly."""
    found: list[InstrumentDefinition] = []
    for entry in sorted(resources.files(PACKAGE).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        result = import_definition_json(entry.read_text(encoding="utf-8"), as_draft=False)
        if result.definition is None:
            raise InvalidDefinition(result.issues)
        found.append(result.definition)
    return tuple(found)


def shipped_instrument(instrument_id: str) -> InstrumentDefinition:
    for definition in shipped_instruments():
        if definition.id == instrument_id:
            return definition
    raise KeyError(instrument_id)


__all__ = ["shipped_instrument", "shipped_instruments"]
