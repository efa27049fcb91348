"""Per-organisation look: a set of design tokens (CSS custom properties, NL Design System
style) per theme, in `static/themes/<slug>.css`; the components in `static/portal.css` use
only the tokens. A member organisation adds its own file; the demo has two."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    slug: str
    name: str
    #: short name shown in the header (the organisation presents the portal as its own)
    site_name_nl: str
    site_name_en: str


THEMES: dict[str, Theme] = {
    "welzijn-demo": Theme(
        "welzijn-demo",
        "Welzijn Demo",
        "Welzijn Demo — Samen in de wijk",
        "Welzijn Demo — Together in the neighbourhood",
    ),
    "gemeente-demo": Theme(
        "gemeente-demo", "Gemeente Demo", "Gemeente Demo — Meedoen", "Gemeente Demo — Taking part"
    ),
}


def pick_theme(cookie: str | None, organisations: list[str], default: str) -> Theme:
    """The visitor's choice, else the first organisation with a theme, else the default."""
    for slug in [cookie or "", *organisations, default]:
        if slug in THEMES:
            return THEMES[slug]
    return next(iter(THEMES.values()))
