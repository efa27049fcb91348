"""`wk`: the platform's admin CLI. Each service contributes its own commands.

Services register a typer app under the entry-point group `wijkkracht.cli` (the entry
point's name becomes the command group, e.g. `wk tenant create`) and a demo seeder under
`wijkkracht.demo` (an async function taking no arguments, run by `wk demo seed` in dev mode).
Services never import each other; the CLI only discovers what is installed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from importlib.metadata import entry_points
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(help="Wijkkracht admin CLI", no_args_is_help=True)
demo = typer.Typer(help="The demo tenant (dev mode only)", no_args_is_help=True)
app.add_typer(demo, name="demo")
console = Console()


def _load_plugins() -> None:
    for ep in sorted(entry_points(group="wijkkracht.cli"), key=lambda e: e.name):
        try:
            sub = ep.load()
        except Exception as error:  # noqa: BLE001 - one broken plugin must not hide the rest
            console.print(f"[yellow]wk: commands '{ep.name}' unavailable: {error}[/yellow]")
            continue
        app.add_typer(sub, name=ep.name)


@demo.command("seed")
def seed() -> None:
    """Fill the demo tenant `demo` with every service's demo data (idempotent).

    Run it while the services are stopped: on the embedded database, writers in two processes
    may not use one database's transactions at once. `make run` needs no call: every service
    seeds itself at start-up (WK_DEMO_SEED=true)."""
    if os.environ.get("WK_ENV", "dev") != "dev":
        console.print("[red]Demo data only in dev mode (WK_ENV=dev).[/red]")
        raise typer.Exit(2)
    seeders = sorted(entry_points(group="wijkkracht.demo"), key=lambda e: e.name)
    for ep in seeders:
        seeder: Callable[[], Coroutine[Any, Any, str]] = ep.load()
        summary: str = asyncio.run(seeder())
        console.print(f"  ✓ {ep.name}: {summary}")


def main() -> None:
    _load_plugins()
    app()


if __name__ == "__main__":
    main()
