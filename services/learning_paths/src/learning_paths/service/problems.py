"""The problems use cases raise (RFC 9457 through wijkkracht_common.errors), in one place so
every "not found" reads the same and never tells whether the thing exists elsewhere."""

from __future__ import annotations

from wijkkracht_common.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from wijkkracht_common.texts import Text

from learning_paths.domain.errors import InvalidContent, Issue, RuleBroken


def not_found(what: Text | None = None) -> NotFound:
    text = what or Text("Niet gevonden.", "Not found.")
    return NotFound(str(text))


def module_not_found() -> NotFound:
    return not_found(Text("Module of leerlijn niet gevonden.", "Module or path not found."))


def enrolment_not_found() -> NotFound:
    return not_found(Text("Inschrijving niet gevonden.", "Enrolment not found."))


def resident_not_found() -> NotFound:
    return not_found(
        Text(
            "Geen voortgang gevonden (of geen toestemming om die te zien).",
            "No progress found (or no consent to see it).",
        )
    )


def forbidden(text: Text, *, roles: list[str]) -> Forbidden:
    return Forbidden(str(text), required_roles=roles)


def conflict(text: Text, kind: str = "conflict") -> Conflict:
    return Conflict(str(text), kind=kind)


def issue_error(issue: Issue) -> dict[str, object]:
    error: dict[str, object] = field_error(issue.path, str(issue.message), issue.code)
    if issue.line is not None:
        error["line"] = issue.line
    return error


def invalid_content(error: InvalidContent) -> InvalidInput:
    return InvalidInput(
        "De inhoud klopt niet; zie 'errors' (niets is opgeslagen). / The content is invalid; "
        "see 'errors' (nothing was stored).",
        errors=[issue_error(i) for i in error.issues],
    )


def rule_broken(error: RuleBroken) -> InvalidInput:
    errors = [field_error(error.field, str(error.text), error.code)] if error.field else None
    return InvalidInput(str(error.text), kind=error.code.replace("_", "-"), errors=errors)
