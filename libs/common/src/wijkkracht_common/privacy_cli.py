"""`wk privacy …`: checks of the privacy contracts across the whole platform."""

from __future__ import annotations

import asyncio

import nats
import typer
from rich.console import Console
from rich.table import Table

from wijkkracht_common.privacy_scan import scan_databases, scan_exports, scan_streams
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.tenancy import require_slug

app = typer.Typer(help="Privacy checks (erasure)", no_args_is_help=True)
console = Console()


async def _scan(tenant: str, person_id: str) -> list[tuple[str, str, str]]:
    settings = BaseServiceSettings()
    rows = [
        ("database", f"{r.database}.{r.collection}", r.document_id)
        for r in await scan_databases(settings.mongo_url, tenant, person_id)
    ]
    nc = await nats.connect(settings.nats_url, connect_timeout=5, max_reconnect_attempts=1)
    try:
        rows += [
            ("stream", f"{r.stream} {r.subject}", str(r.sequence))
            for r in await scan_streams(nc.jetstream(), tenant, person_id)
        ]
        rows += [
            ("export", name, "") for name in await scan_exports(nc.jetstream(), tenant, person_id)
        ]
    finally:
        await nc.drain()
    return rows


@app.command("verify-erasure")
def verify_erasure(
    person_id: str = typer.Argument(..., help="the erased person's id"),
    tenant: str = typer.Option(..., "--tenant", "-t", help="the tenant's slug"),
) -> None:
    """Scan every service's database of the tenant and every stream for the person's id.
    Exit code 0: nothing left; 1: residue found (listed)."""
    require_slug(tenant)
    rows = asyncio.run(_scan(tenant, person_id))
    if not rows:
        console.print(f"Niets gevonden / nothing left of {person_id} in tenant {tenant}.")
        return
    table = Table("where", "place", "id / sequence")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"[red]{len(rows)} plaatsen noemen de persoon nog / places still name the person[/red]"
    )
    raise typer.Exit(1)
