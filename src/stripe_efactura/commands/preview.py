"""`preview EVENT.json`: the invoice a saved event would produce, without writing anything."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from ..errors import EfacturaError
from . import app, read_input, settings


@app.command()
def preview(
    event_file: Path = typer.Argument(..., help="A saved Stripe event (JSON)."),
    objects: Path = typer.Option(None, "--objects", help="Folder of related Stripe objects."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    xml: Path = typer.Option(None, "--xml", help="Write the UBL XML here."),
    rate: str = typer.Option(None, "--rate", help="BNR rate to use for a non-RON invoice."),
) -> None:
    """Show buyer, lines, VAT breakdown, totals and problems for a saved event."""
    from ..app import preview as use_case

    s = settings(create=False)
    fx_rate = None
    if rate is not None:
        try:
            fx_rate = Decimal(rate)
        except InvalidOperation as exc:
            raise typer.BadParameter(f"--rate {rate!r} is not a number") from exc
    raw = read_input(event_file)
    try:
        result = use_case.preview_event(s, raw, objects_dir=objects, rate=fx_rate)
    except EfacturaError as exc:
        exc.exit_code = 2  # the saved event or its objects cannot be previewed
        raise
    if xml is not None and result.xml is not None:
        xml.write_bytes(result.xml)
    if as_json:
        typer.echo(json.dumps(result.data, indent=2, ensure_ascii=False))
    else:
        typer.echo(use_case.as_text(result.data))
    raise typer.Exit(0 if result.data.get("ok") else 1)
