"""An instrument definition with its lifecycle: draft -> published -> retired.

The shape (groups, items, options, enable_when, scoring rules) is `definition_shape`; its
cross-field rules are `definition_rules`, applied here when a draft is published. Every name of
the shape is re-exported, so callers import definitions and their parts from this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from questionnaires.domain.definition_rules import validate_definition
from questionnaires.domain.definition_shape import (
    DEFAULT_MAX_LENGTH,
    AnswerOption,
    AnswerScalar,
    AnswerType,
    Band,
    DefinitionShape,
    EnableWhen,
    Group,
    Item,
    Operator,
    Outcome,
    Respondent,
    ScoringMethod,
    ScoringRule,
    Status,
)
from questionnaires.domain.errors import InvalidDefinition, LifecycleError


class InstrumentDefinition(DefinitionShape):
    """A versioned definition; only drafts change (`amend`), published and retired versions
    keep their meaning for the responses given on them."""

    def amend(self, **changes: Any) -> InstrumentDefinition:
        """A changed copy of a draft. Published and retired versions are immutable: responses
        given on them must keep their meaning, so changes go into a new version."""
        if self.status != "draft":
            raise LifecycleError(
                f"{self.id} v{self.version} is {self.status}; create a new version"
            )
        forbidden = {"id", "version", "status", "published_at", "retired_at"} & changes.keys()
        if forbidden:
            raise LifecycleError(f"cannot amend {sorted(forbidden)}")
        data = self.model_dump(mode="python") | changes
        return InstrumentDefinition.model_validate(data)

    def publish(self, now: datetime) -> InstrumentDefinition:
        if self.status != "draft":
            raise LifecycleError(f"only a draft can be published, this is {self.status}")
        issues = validate_definition(self)
        if issues:
            raise InvalidDefinition(issues)
        return self.model_copy(update={"status": "published", "published_at": now})

    def retire(self, now: datetime) -> InstrumentDefinition:
        if self.status != "published":
            raise LifecycleError(f"only a published version can be retired, this is {self.status}")
        return self.model_copy(update={"status": "retired", "retired_at": now})

    def new_version(self, version: int) -> InstrumentDefinition:
        """A draft copy under a higher version number; the caller passes latest + 1."""
        if version <= self.version:
            raise LifecycleError(f"new version must be above {self.version}, got {version}")
        return self.model_copy(
            update={"version": version, "status": "draft", "published_at": None, "retired_at": None}
        )

    def instantiate(self, params: dict[str, str]) -> InstrumentDefinition:
        """Texts with `{name}` placeholders filled in (for display; scoring is unaffected)."""
        missing = set(self.parameters) - params.keys()
        if missing:
            raise ValueError(f"missing parameter(s): {sorted(missing)}")
        used = {k: v for k, v in params.items() if k in self.parameters}
        if not used:
            return self
        groups = tuple(
            g.model_copy(
                update={
                    "title": g.title.substitute(used),
                    "items": tuple(
                        i.model_copy(
                            update={
                                "text": i.text.substitute(used),
                                "options": tuple(
                                    o.model_copy(update={"label": o.label.substitute(used)})
                                    for o in i.options
                                ),
                            }
                        )
                        for i in g.items
                    ),
                }
            )
            for g in self.groups
        )
        description = self.description.substitute(used) if self.description else None
        return self.model_copy(
            update={
                "title": self.title.substitute(used),
                "description": description,
                "groups": groups,
            }
        )


__all__ = [
    "DEFAULT_MAX_LENGTH",
    "AnswerOption",
    "AnswerScalar",
    "AnswerType",
    "Band",
    "DefinitionShape",
    "EnableWhen",
    "Group",
    "InstrumentDefinition",
    "Item",
    "Operator",
    "Outcome",
    "Respondent",
    "ScoringMethod",
    "ScoringRule",
    "Status",
]
