"""Import of instrument definitions in our own JSON format: all or nothing.

Returns either a definition or the full list of problems, each with the path of the element.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.definition_rules import validate_definition
from questionnaires.domain.errors import DefinitionIssue
from questionnaires.domain.i18n import t

ROOT = "$"


@dataclass(frozen=True)
class ImportResult:
    definition: InstrumentDefinition | None = None
    issues: list[DefinitionIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.definition is not None and not self.issues


def import_definition_json(
    data: str | bytes | Mapping[str, Any], *, as_draft: bool = True
) -> ImportResult:
    """Parse and check a definition in our format. Organisations' imports become drafts
    (`as_draft`), to be reviewed and published inside the platform."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            return _failed(
                ROOT, "invalid_json", f"Geen geldige JSON: {exc}", f"Not valid JSON: {exc}"
            )
    if not isinstance(data, Mapping):
        return _failed(ROOT, "not_an_object", "Verwacht een JSON-object", "Expected a JSON object")
    payload = dict(data)
    if as_draft:
        payload.update(status="draft", published_at=None, retired_at=None)
    return build_definition(payload)


def build_definition(
    payload: Mapping[str, Any], translate: Callable[[str], str] = lambda p: p
) -> ImportResult:
    """Shape check, then rules check; `translate` maps our paths to the source format's."""
    try:
        definition = InstrumentDefinition.model_validate(payload)
    except ValidationError as exc:
        return ImportResult(issues=[_from_pydantic(e, translate) for e in exc.errors()])
    issues = [
        i.model_copy(update={"path": translate(i.path)}) for i in validate_definition(definition)
    ]
    return ImportResult(issues=issues) if issues else ImportResult(definition=definition)


def loc_to_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or ROOT


def _from_pydantic(error: Any, translate: Callable[[str], str]) -> DefinitionIssue:
    path = translate(loc_to_path(tuple(error["loc"])))
    message = str(error["msg"])
    return DefinitionIssue(
        path=path,
        code=str(error["type"]),
        message=t(f"Ongeldige waarde: {message}", f"Invalid value: {message}"),
    )


def _failed(path: str, code: str, nl: str, en: str) -> ImportResult:
    return ImportResult(issues=[DefinitionIssue(path=path, code=code, message=t(nl, en))])


__all__ = ["ImportResult", "build_definition", "import_definition_json", "loc_to_path"]
