"""`wk social-map …`: admin commands of the social map."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.tenancy import is_valid_slug

from social_map.adapters.repositories import INDEXES
from social_map.domain.sweeps import SweepReport
from social_map.service.context import SERVICE, ServiceContext, system_clock
from social_map.service.freshness import run_and_record
from social_map.service.interchange import IMPORT_ACTOR, parse_package, write_import
from social_map.settings import Settings

SWEEP_ACTOR = f"system:{SERVICE}:cli"

app = typer.Typer(help="Sociale kaart / social map", no_args_is_help=True)
console = Console()


def _read_package(path: Path) -> tuple[bytes, str]:
    """A .json file, a .zip CSV package, or a directory of HSDS CSV files."""
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for csv_file in sorted(path.glob("*.csv")):
                archive.write(csv_file, csv_file.name)
        return buffer.getvalue(), "zip"
    raw = path.read_bytes()
    return raw, "zip" if path.suffix.lower() == ".zip" else "json"


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, help="HSDS .json, .zip or CSV directory")],
    tenant: Annotated[str, typer.Option(help="tenant slug")] = "demo",
    strict: Annotated[
        bool, typer.Option(help="refuse unusable coordinates instead of dropping them")
    ] = False,
) -> None:
    """Import an HSDS 3.0 file (all or nothing; errors are listed per line; unusable
    coordinates are dropped with a warning unless --strict)."""
    raw, media = _read_package(file)

    async def run() -> int:
        settings = Settings()
        runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=False)
        ctx = ServiceContext(runtime, settings, system_clock)
        try:
            result = parse_package(raw, media, tenant, await ctx.view(tenant), strict=strict)
            if result.data is None:
                for issue in result.issues[:200]:
                    console.print(
                        f"[red]{issue.file}:{issue.line}[/red] {issue.field}: {issue.message}"
                    )
                console.print(
                    f"[red]{len(result.issues)} fout(en); niets geïmporteerd / "
                    f"error(s); nothing imported[/red]"
                )
                return 1
            for issue in result.warnings[:200]:
                console.print(
                    f"[yellow]{issue.file}:{issue.line}[/yellow] {issue.field}: {issue.message}"
                )
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                task = bar.add_task("importeren / importing", total=len(result.data.entries))
                summary = await write_import(
                    ctx,
                    tenant,
                    result.data,
                    actor=IMPORT_ACTOR,
                    progress=lambda done, _total: bar.update(task, completed=done),
                )
            console.print(f"[green]ok[/green] {summary.as_dict()}")
            return 0
        finally:
            runtime.storage.close()

    raise typer.Exit(asyncio.run(run()))


@app.command("sweep")
def sweep_command(tenant: Annotated[str, typer.Option(help="tenant slug")] = "demo") -> None:
    """Run the tenant's freshness sweep now instead of waiting for the hourly one.

    Every entry whose check is due gets its state under the tenant's current policy; state
    changes are announced (events, owner mails) as by the timer and never twice. The events
    and mails are sent by the running service. On the embedded development database, run it
    while the service is stopped (two processes may not write one database in transactions at
    once there) or use `POST /social-map/v1/freshness/sweeps`; on MongoDB, any time."""
    if not is_valid_slug(tenant):
        console.print(f"[red]Geen geldige tenant / not a tenant slug: {tenant!r}[/red]")
        raise typer.Exit(2)

    async def run() -> SweepReport | None:
        settings = Settings()
        runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=False)
        try:
            if tenant not in await runtime.storage.tenants(max_age_seconds=0):
                return None
            ctx = ServiceContext(runtime, settings, system_clock)
            return await run_and_record(ctx, tenant, actor=SWEEP_ACTOR)
        finally:
            runtime.storage.close()

    report = asyncio.run(run())
    if report is None:
        console.print(f"[red]Onbekende tenant / unknown tenant: {tenant}[/red]")
        raise typer.Exit(2)
    console.print(
        f"[green]ok[/green] {tenant}: {report.changed} of {report.checked} due entries changed "
        f"state (policy version {report.policy_version}; report {report.id})"
    )
