"""Domain errors -> RFC 9457 problems (bilingual, with the field that was wrong)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from wijkkracht_common.errors import Conflict, InvalidInput, field_error

from identity.domain.texts import DomainError, Text

T = TypeVar("T")


def invalid(error: DomainError) -> InvalidInput:
    return InvalidInput(str(error.text), errors=[field_error(error.field or "body", error.text.en)])


def from_validation(error: ValidationError) -> InvalidInput:
    """A domain model refused its input (its validators raise DomainError inside)."""
    errors = []
    for item in error.errors():
        ctx = item.get("ctx") or {}
        cause = ctx.get("error")
        field = ".".join(str(p) for p in item.get("loc", ())) or "body"
        if isinstance(cause, DomainError):
            errors.append(field_error(cause.field or field, cause.text.en))
        else:
            errors.append(field_error(field, str(item.get("msg", "invalid"))))
    return InvalidInput(
        "De invoer is ongeldig; zie 'errors'. / The input is invalid; see 'errors'.",
        errors=errors,
    )


async def domain_call(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return await fn()
    except DomainError as error:
        raise invalid(error) from error
    except ValidationError as error:
        raise from_validation(error) from error


def conflict(text: Text, **extra: Any) -> Conflict:
    return Conflict(str(text), **extra)
