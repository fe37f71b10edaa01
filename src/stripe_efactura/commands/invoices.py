"""`invoices` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from . import invoices_app, settings

# ---- export, resend-email (services/documents.py, services/mailing.py) ---------------------


@invoices_app.command("export")
def export_command(
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. SEF000123.")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF to this file.")] = None,
    xml: Annotated[
        Path | None, typer.Option("--xml", help="Write the UBL XML (as sent to ANAF) here.")
    ] = None,
) -> None:
    """Write the stored PDF and/or XML of an invoice (byte for byte what was issued)."""
    from .. import app as use_cases
    from ..errors import EfacturaError
    from ..services import documents

    if pdf is None and xml is None:
        typer.echo("give --pdf PATH, --xml PATH or both", err=True)
        raise typer.Exit(2)
    ctx = use_cases.build_context(settings(create=False))
    try:
        use_cases.prepare(ctx)
        result = documents.export(ctx, number, pdf, xml)
    except EfacturaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        ctx.close()
    if result.pdf_path is not None:
        typer.echo(f"{result.pdf_path} ({result.pdf_bytes} bytes)")
    if result.xml_path is not None:
        typer.echo(f"{result.xml_path} ({result.xml_bytes} bytes)")


@invoices_app.command("resend-email")
def resend_email_command(
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. SEF000123.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Send to this address instead of the payer's.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Email the invoice (PDF and XML) to the payer again, now."""
    from .. import app as use_cases
    from ..errors import EfacturaError
    from ..services import mailing

    ctx = use_cases.build_context(settings(create=False))
    try:
        use_cases.prepare(ctx)
        result = mailing.resend_email(ctx, number, to=to)
    except EfacturaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        ctx.close()
    if as_json:
        out = {"number": result.number, "to": result.to, "message_id": result.message_id}
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    typer.echo(f"{result.number}: sent to {result.to} ({result.message_id})")
