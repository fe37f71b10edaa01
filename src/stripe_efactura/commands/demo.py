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
    console: Annotated[
        bool,
        typer.Option(
            "--console",
            help="Then keep the service running with the merchant console on the demo data "
            "and print its address and a login (until Ctrl-C).",
        ),
    ] = False,
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
    if console and result.ok:
        _serve_console(result.directory)
    raise typer.Exit(0 if result.ok else 1)


def _serve_console(directory: Path) -> None:
    """``--console``: the console on the demo folder until Ctrl-C."""
    import time

    from ..config import environment
    from ..demo.console import start_console
    from ..demo.environment import find_validation
    from ..ubl import artifacts

    validation = directory / "validation"
    if not artifacts.is_installed(validation):
        validation, _source = find_validation(directory, environment())
    running = start_console(directory, validation, say=lambda line: typer.echo(line, err=True))
    try:
        assert running.admin is not None
        email, password = running.admin
        typer.echo("")
        typer.echo(f"Console / Consola: {running.url}/")
        typer.echo(f"  login   {email}")
        typer.echo(f"  parola  {password}")
        typer.echo("Ctrl-C stops it.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        running.stop()
