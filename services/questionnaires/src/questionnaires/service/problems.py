"""Domain errors -> RFC 9457 problems (Dutch first, then English)."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.errors import Conflict, InvalidInput, NotFound

from questionnaires.domain.errors import AnswerError, DefinitionIssue

NOT_FOUND = "Niet gevonden. / Not found."


def not_found(what: str = "") -> NotFound:
    detail = NOT_FOUND if not what else f"{what} niet gevonden. / {what} not found."
    return NotFound(detail)


def answer_errors(errors: list[AnswerError]) -> InvalidInput:
    return InvalidInput(
        "Sommige antwoorden kloppen niet; zie 'errors'. / Some answers are invalid; see 'errors'.",
        kind="invalid-answers",
        errors=[_answer_error(e) for e in errors],
    )


def _answer_error(error: AnswerError) -> dict[str, Any]:
    return {
        "field": f"answers.{error.link_id}",
        "link_id": error.link_id,
        "code": error.code,
        "message": f"{error.message.get('nl')} / {error.message.get('en')}",
        "message_nl": error.message.get("nl"),
        "message_en": error.message.get("en"),
    }


def definition_issues(issues: list[DefinitionIssue]) -> InvalidInput:
    return InvalidInput(
        "De vragenlijst is niet ingelezen: er zijn fouten gevonden (zie 'errors'); er is niets "
        "opgeslagen. / The questionnaire was not imported: problems were found (see 'errors'); "
        "nothing was stored.",
        kind="invalid-definition",
        errors=[
            {
                "field": i.path,
                "path": i.path,
                "code": i.code,
                "message": f"{i.message.get('nl')} / {i.message.get('en')}",
            }
            for i in issues
        ],
    )


def already_submitted() -> Conflict:
    return Conflict(
        "Deze vragenlijst is al ingestuurd en kan niet meer veranderen. / This response was "
        "already submitted and can no longer change.",
        kind="response-submitted",
    )
