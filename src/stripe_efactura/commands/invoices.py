"""`invoices` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UserInputError
from . import Access, invoices_app, session

# ---- export, resend-email (app/documents.py, app/invoice_actions.py) ---------------------------


@invoices_app.command("export")
def export_command(
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. SEF000123.")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF to this file.")] = None,
    xml: Annotated[
        Path | None, typer.Option("--xml", help="Write the UBL XML (as sent to ANAF) here.")
    ] = None,
) -> None:
    """Write the stored PDF and/or XML of an invoice (byte for byte what was issued)."""
    from ..app import documents

    if pdf is None and xml is None:
        raise UserInputError(
            "give --pdf PATH, --xml PATH or both",
            code="E-USAGE",
            message_ro="dați --pdf CALE, --xml CALE sau amândouă",
        )
    with session(Access.READ) as ctx:
        result = documents.export(ctx, number, pdf, xml)
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
    from ..app import invoice_actions
    from ..app.audit_log import Actor

    with session(Access.WRITE) as ctx:
        result = invoice_actions.resend_email(ctx, Actor.cli(), number, to=to)
    if as_json:
        out = {
            "number": result.number,
            "to": result.to,
            "message_id": result.message_id,
            "state": result.state,
            "outbox": result.outbox,
        }
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    typer.echo(f"{result.number}: {result.describe()} ({result.message_id})")


# ---- list, show, retry (app/anaf_admin.py) -------------------------------------------


@invoices_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    overdue: Annotated[
        bool,
        typer.Option(
            "--overdue", help="Only invoices due at ANAF within one working day, or late."
        ),
    ] = False,
) -> None:
    """Invoices with their ANAF state, upload index, download id and deadline."""
    from ..app import anaf_admin

    with session(Access.READ) as ctx:
        rows = anaf_admin.invoices_listing(ctx, overdue=overdue)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        flag = str(r["deadline_status"]).upper() if r["deadline_status"] else ""
        due = f"{r['deadline']} {flag}".rstrip()
        typer.echo(
            f"{r['number']:<16} {r['issue_date']} {r['total']:>12} {r['currency']} "
            f"{r['anaf_state']:<18} {r['upload_index'] or '-':<12} {due}"
        )


@invoices_app.command("show")
def show_command(
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. SEF000123.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """One invoice: ANAF state, findings explained, timeline."""
    from ..app import anaf_admin

    with session(Access.READ) as ctx:
        detail = anaf_admin.invoice_detail(ctx, number)
    if as_json:
        typer.echo(json.dumps(detail, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{detail['number']} ({detail['kind']}) issued {detail['issue_date']}")
    typer.echo(
        f"  ANAF: {detail['anaf_state']}  index {detail['upload_index'] or '-'}  "
        f"download {detail['download_id'] or '-'}  deadline {detail['deadline']}"
    )
    typer.echo(f"  email: {detail['email']['text']}")
    if detail["archive_path"]:
        typer.echo(f"  signed archive: {detail['archive_path']}")
    for f in detail["findings"]:
        typer.echo(f"  ! {f['code']}: {f['message_en']}")
        typer.echo(f"    {f['message_ro']}")
        if f.get("hint"):
            typer.echo(f"    fix: {f['hint']}")
    for e in detail["timeline"]:
        extra = json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else ""
        typer.echo(f"  {e['at']}  {e['event']:<24} {extra}")


@invoices_app.command("retry")
def retry_command(
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. SEF000123.")],
    force: Annotated[
        bool, typer.Option("--force", help="Send again even if the rebuilt XML is unchanged.")
    ] = False,
) -> None:
    """Send again an invoice ANAF rejected (nok) once its data is corrected: same number and
    date, correction recorded in its timeline. An invoice ANAF accepted is never re-sent."""
    from ..app import invoice_actions
    from ..app.audit_log import Actor
    from ..errors import InvoiceProblems

    try:
        with session(Access.WRITE) as ctx:
            result = invoice_actions.retry(ctx, Actor.cli(), number, force=force)
    except InvoiceProblems as exc:  # the findings to fix, one per line
        for p in exc.problems:
            typer.echo(f"{p.code} ({p.field}): {p.message_en}\n  {p.message_ro}", err=True)
        raise typer.Exit(1) from exc
    change = "corrected" if result["xml_changed"] else "unchanged (--force)"
    typer.echo(f"{number}: {change}, queued for upload (was {result['previous_state']})")
