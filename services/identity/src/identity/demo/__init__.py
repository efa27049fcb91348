"""Demo data for the dev-only tenant ``demo`` (fictional neighbourhoods and postcodes)."""

from __future__ import annotations

from importlib.resources import files

DEMO_TENANT = "demo"


def demo_neighbourhoods_csv() -> str:
    """The shipped demo CSV text; parse it with ``parse_neighbourhood_csv``."""
    return files(__package__).joinpath("neighbourhoods.csv").read_text(encoding="utf-8")
