"""`demo`: one command, no accounts: sample Stripe payments through the real service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app


@app.command()
def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Put the database, PDFs, XML, ZIPs and emails here (new or empty folder; "
            "default: a new temporary folder, kept).",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for ANAF (fake) and the emails.")
    ] = 50.0,
) -> None:
    """Run four sample Stripe payments through the service with a fake ANAF and a local SMTP
    sink, and show what happened. Needs no Stripe or ANAF account."""
    from ..demo import DemoError, DemoOptions, render_account, run_demo

    try:
        result = run_demo(
            DemoOptions(directory=directory, timeout=timeout),
            say=lambda line: typer.echo(line, err=True),
        )
    except DemoError as exc:
        typer.echo(f"demo: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(render_account(result))
    raise typer.Exit(0 if result.ok else 1)
