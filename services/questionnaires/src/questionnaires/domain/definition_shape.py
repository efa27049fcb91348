"""The shape of an instrument definition, after the HL7 FHIR R4 Questionnaire (groups holding
items): the pydantic models pydantic checks, and the navigation every rule needs.

The cross-field rules (unique link ids, enable_when targets, scoring references, languages, ...)
live in `definition_rules.validate_definition`, so that every problem is reported with its path
instead of stopping at the first; `definition.InstrumentDefinition` adds the lifecycle (draft ->
published -> retired), whose `publish` applies those rules. Kept apart so that the rules and
the lifecycle each depend on the shape, not on each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from questionnaires.domain.i18n import Language, LocalizedText

AnswerType = Literal[
    "scale_0_10", "single_choice", "multiple_choice", "yes_no", "number", "short_text"
]
Operator = Literal["=", "!=", ">", "<", ">=", "<=", "exists"]
Status = Literal["draft", "published", "retired"]
Respondent = Literal["resident", "professional", "staff"]
ScoringMethod = Literal["mean", "sum"]
Outcome = Literal["score", "phase", "level"]
AnswerScalar = bool | int | float | str

SLUG_PATTERN = r"^[a-z][a-z0-9-]{1,62}$"
LINK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
DEFAULT_MAX_LENGTH = 500


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AnswerOption(_Frozen):
    code: str = Field(pattern=CODE_PATTERN)
    label: LocalizedText
    # Score value used by scoring rules; e.g. the phase or level number the option stands for.
    score: float | None = None


class EnableWhen(_Frozen):
    """FHIR enableWhen: `question` is the link_id of an earlier item."""

    question: str
    operator: Operator
    # bool for `exists` and yes_no, option code for choices, number for scale/number,
    # text otherwise.
    answer: AnswerScalar


class Item(_Frozen):
    link_id: str = Field(pattern=LINK_ID_PATTERN)
    text: LocalizedText
    answer_type: AnswerType
    options: tuple[AnswerOption, ...] = ()
    required: bool = False
    enable_when: tuple[EnableWhen, ...] = ()
    enable_behavior: Literal["all", "any"] = "all"
    dimension: str | None = None
    # May be skipped: "Hier praat ik liever niet over / I'd rather not discuss this".
    sensitive: bool = False
    # Resident may tick "Hier wil ik over praten / I want to talk about this".
    discussable: bool = False
    # High answer means worse (e.g. "how much pain"): scoring turns it around.
    reverse_scored: bool = False
    min_value: float | None = None
    max_value: float | None = None
    integer_only: bool = False
    max_length: int | None = None

    def option(self, code: str) -> AnswerOption | None:
        return next((o for o in self.options if o.code == code), None)


class Group(_Frozen):
    link_id: str = Field(pattern=LINK_ID_PATTERN)
    title: LocalizedText
    items: tuple[Item, ...]
    enable_when: tuple[EnableWhen, ...] = ()
    enable_behavior: Literal["all", "any"] = "all"


class Band(_Frozen):
    """Scores from `min` (on the 0-10 scale) up to the next band's min map to `value`."""

    min: float = Field(ge=0, le=10)
    value: int = Field(ge=1, le=5)


class ScoringRule(_Frozen):
    """One dimension: its items' answers on a common 0-10 scale, optionally banded into a phase
    (behaviour change, effect monitor) or a level (self-sufficiency)."""

    dimension: str
    items: tuple[str, ...]
    method: ScoringMethod = "mean"
    outcome: Outcome = "score"
    bands: tuple[Band, ...] = ()


class DefinitionShape(_Frozen):
    id: str = Field(pattern=SLUG_PATTERN)
    family: str = Field(pattern=SLUG_PATTERN)
    variant: str = Field(pattern=SLUG_PATTERN)
    version: int = Field(ge=1)
    status: Status = "draft"
    respondent: Respondent = "resident"
    # Every text must exist in each of these; the first is the default for display.
    languages: tuple[Language, ...] = ("nl", "en")
    title: LocalizedText
    description: LocalizedText | None = None
    # Names usable as `{name}` in texts, filled in by `instantiate` (e.g. the tool's name).
    parameters: tuple[str, ...] = ()
    groups: tuple[Group, ...]
    scoring: tuple[ScoringRule, ...] = ()
    published_at: datetime | None = None
    retired_at: datetime | None = None

    # --- navigation ---------------------------------------------------------------------------
    def items(self) -> Iterator[Item]:
        for group in self.groups:
            yield from group.items

    def item(self, link_id: str) -> Item | None:
        return self._items_by_link_id().get(link_id)

    def _items_by_link_id(self) -> dict[str, Item]:
        """link_id -> item (the first, should a draft repeat one), built once per definition
        object: validation and scoring look items up for every answer of every submit.
        Kept in `__dict__` beside the fields (not a field: dumps, equality and hashing ignore
        it); `model_copy` copies it along, so it is rebuilt when `groups` is not the object
        it was built from."""
        cached: tuple[tuple[Group, ...], dict[str, Item]] | None = self.__dict__.get("_item_index")
        if cached is None or cached[0] is not self.groups:
            index: dict[str, Item] = {}
            for item in self.items():
                index.setdefault(item.link_id, item)
            cached = (self.groups, index)
            self.__dict__["_item_index"] = cached
        return cached[1]

    def group_of(self, link_id: str) -> Group | None:
        return next((g for g in self.groups if any(i.link_id == link_id for i in g.items)), None)

    @property
    def default_language(self) -> Language:
        return self.languages[0]


__all__ = [
    "DEFAULT_MAX_LENGTH",
    "AnswerOption",
    "AnswerScalar",
    "AnswerType",
    "Band",
    "DefinitionShape",
    "EnableWhen",
    "Group",
    "Item",
    "Operator",
    "Outcome",
    "Respondent",
    "ScoringMethod",
    "ScoringRule",
    "Status",
]
