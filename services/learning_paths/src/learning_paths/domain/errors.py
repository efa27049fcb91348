"""Domain errors that carry where the problem is, so the HTTP layer can list them as RFC 9457
`errors` (field paths such as `steps[2].questions[0].answer`, with a line where known)."""

from __future__ import annotations

from dataclasses import dataclass

from wijkkracht_common.texts import Text


@dataclass(frozen=True, slots=True)
class Issue:
    path: str
    code: str
    message: Text
    line: int | None = None


class InvalidContent(ValueError):
    """Content (a Markdown source, a package, a rule) breaks the authoring rules: every issue
    is listed, nothing is stored."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{i.path}: {i.message}" for i in issues))

    @classmethod
    def single(cls, path: str, code: str, message: Text) -> InvalidContent:
        return cls([Issue(path, code, message)])


class RuleBroken(ValueError):
    """A use-case rule refused the action (e.g. completing a step of a completed module)."""

    def __init__(self, text: Text, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(str(text))
        self.text = text
        self.field = field
        self.code = code
