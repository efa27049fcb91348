"""Demo content in the project's own wording (Markdown, as editors write it)."""

from __future__ import annotations

from importlib.resources import files


def source(name: str) -> str:
    """The Markdown of `<name>.md` in this package."""
    return files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
