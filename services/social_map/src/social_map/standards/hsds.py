"""HSDS 3.0: the official files, vendored unmodified in `hsds-3.0/` (see its README), and the
standard's own validators over them.

The service reads the files as package data, never from outside its package: the tabular
package's descriptor goes into every CSV export. `json_problems` and `package_problems` check
documents as upstream checks its examples (JSON Schema 2020-12 with format checking and every
object closed; `frictionless` for the tabular package); the tests run them on our exports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

#: The descriptor's name inside a tabular package.
DESCRIPTOR = "datapackage.json"

#: Where an object sits in a service (its key) → the specification's name of that object.
NESTED_OBJECTS: Mapping[str, str] = {
    "organization": "organization",
    "service_at_locations": "service_at_location",
    "location": "location",
    "addresses": "address",
    "accessibility": "accessibility",
    "schedules": "schedule",
    "languages": "language",
    "cost_options": "cost_option",
    "contacts": "contact",
    "phones": "phone",
    "attributes": "attribute",
    "taxonomy_term": "taxonomy_term",
    "taxonomy_detail": "taxonomy",
    "metadata": "metadata",
}


def root() -> Traversable:
    return files(__package__) / "hsds-3.0"


@cache
def datapackage_descriptor() -> bytes:
    """The official `datapackage.json`: the spec's file names, columns, types and keys."""
    return (root() / DESCRIPTOR).read_bytes()


def _compiled(name: str) -> Any:
    return json.loads((root() / "schema" / "compiled" / name).read_text(encoding="utf-8"))


def _closed(node: Any) -> Any:
    """The schema with every object closed (upstream validates its examples so:
    `compiletojsonschema --set-additional-properties-false-everywhere`)."""
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


@cache
def _validators() -> tuple[Any, dict[str, Any]]:
    """(validator of a service, validator per object definition); built once."""
    from jsonschema import Draft202012Validator

    checker = Draft202012Validator.FORMAT_CHECKER
    service = Draft202012Validator(_closed(_compiled("service.json")), format_checker=checker)
    definitions = _closed(_compiled("service_with_definitions.json")["definitions"])
    per_object = {
        name: Draft202012Validator(
            {"$ref": f"#/definitions/{name}", "definitions": definitions},
            format_checker=checker,
        )
        for name in definitions
    }
    return service, per_object


def _nested(obj: Mapping[str, Any], path: str) -> Iterator[tuple[str, str, Any]]:
    """(object name, path, object) of everything nested in `obj`."""
    for key, value in obj.items():
        name = NESTED_OBJECTS.get(key)
        if name is None:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict):
                where = f"{path}.{key}[{i}]" if isinstance(value, list) else f"{path}.{key}"
                yield name, where, item
                yield from _nested(item, where)


def json_problems(services: Sequence[Any], seen: set[str] | None = None) -> list[str]:
    """Every way the services break the official schemas: each service against the compiled
    `service.json`, each nested object against its own definition (the names of the checked
    definitions are added to `seen`). Empty when valid."""
    service, per_object = _validators()
    problems: list[str] = []
    for n, svc in enumerate(services):
        for error in service.iter_errors(svc):
            problems.append(f"[{n}]{_where(error.absolute_path)}: {error.message}")
        if not isinstance(svc, dict):
            continue
        for name, path, obj in _nested(svc, f"[{n}]"):
            if seen is not None:
                seen.add(name)
            for error in per_object[name].iter_errors(obj):
                problems.append(f"{path}{_where(error.absolute_path)} ({name}): {error.message}")
    return problems


def _where(path: Any) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def package_problems(directory: Path) -> list[str]:
    """Every way a tabular package (a directory with `datapackage.json` and its CSV files)
    breaks its descriptor, by `frictionless` (types, formats, required values, enums, unique
    and primary keys, foreign keys, file names and headers). Empty when valid."""
    from frictionless import validate

    report = validate(str(directory / DESCRIPTOR))
    problems = [f"{e.type}: {e.message}" for e in report.errors]
    for task in report.tasks:
        problems += [f"{task.name}: {e.type}: {e.message}" for e in task.errors]
    return problems
