"""Shared FastAPI dependencies and request models of the HTTP entrypoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic_core
from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from questionnaires.domain.answers import ItemAnswer
from questionnaires.service.context import Context

MAX_ANSWERS = 400
ID = Annotated[str, Field(min_length=1, max_length=64)]


async def get_context(request: Request) -> Context:
    """`async`: FastAPI runs a plain `def` dependency in a worker thread (a thread hop per
    request on every route)."""
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(get_context)]
LangParam = Annotated[Literal["nl", "en"] | None, Query(description="nl (default) or en")]
CompareParam = Annotated[
    str | None, Query(max_length=64, description="an earlier response of the same person")
]


class FastJSONResponse(JSONResponse):
    """A JSONResponse rendered by pydantic-core (Rust) instead of `json.dumps`: the same bytes
    (compact, UTF-8) at a third of the cost, for the large bodies of hot routes (submit)."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartResponse(_Body):
    instrument_id: ID
    version: int | None = Field(default=None, ge=1)
    language: Literal["nl", "en"] | None = None
    # Assisted mode: a professional or volunteer fills it in with this resident.
    person_id: ID | None = None
    organisation: str | None = Field(default=None, max_length=31)
    invitation_id: ID | None = None
    params: dict[str, Annotated[str, Field(max_length=100)]] = Field(
        default_factory=dict, max_length=10
    )


class AnonymousStart(_Body):
    instrument_id: ID
    version: int | None = Field(default=None, ge=1)
    language: Literal["nl", "en"] | None = None
    params: dict[str, Annotated[str, Field(max_length=100)]] = Field(
        default_factory=dict, max_length=10
    )


class InvitationShareChoice(_Body):
    share: bool = Field(description="may the inviting organisation see the answers")


class AttachResponse(_Body):
    invitation_token: str = Field(
        min_length=1, max_length=200, description="the token of the invitation's e-mail link"
    )


class SaveAnswers(_Body):
    answers: dict[Annotated[str, Field(max_length=64)], ItemAnswer] = Field(max_length=MAX_ANSWERS)


class SubmitBody(_Body):
    answers: dict[Annotated[str, Field(max_length=64)], ItemAnswer] = Field(
        default_factory=dict, max_length=MAX_ANSWERS
    )
