"""`invoices` commands."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UserInputError
from ..money import format_amount
from . import Access, invoices_app, session

if TYPE_CHECKING:
    from ..app.anaf_admin import InvoiceDetail

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
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="Only invoices whose number, payment id, buyer name, CUI / CNP, VAT id or "
            "e-mail contains this text (as the API's q).",
        ),
    ] = None,
) -> None:
    """Invoices with their ANAF state, upload index, download id and deadline."""
    from ..app import anaf_admin

    with session(Access.READ) as ctx:
        rows = anaf_admin.invoices_listing(ctx, overdue=overdue, search=search)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo(
            f"no invoice matches {search!r} / nicio factură nu conține {search!r}"
            if search
            else "no invoices yet / nicio factură încă"
        )
        return
    typer.echo(
        f"{'NUMBER':<16} {'ISSUED':<10} {'TOTAL':>16}  {'ANAF STATE':<18} {'INDEX':<12} "
        f"{'DOWNLOAD ID':<12} DEADLINE"
    )
    for r in rows:
        flag = str(r["deadline_status"]).upper() if r["deadline_status"] else ""
        due = f"{r['deadline'] or '-'} {flag}".rstrip()
        total = format_amount(Decimal(str(r["total"])), str(r["currency"]))
        typer.echo(
            f"{r['number']:<16} {r['issue_date']:<10} {total:>16}  {r['anaf_state']:<18} "
            f"{r['upload_index'] or '-':<12} {r['download_id'] or '-':<12} {due}"
        )
        waiting = r["waiting"]
        if waiting:
            typer.echo(f"{'':<16} waiting: {waiting['code']} {waiting['message_en']}")
        elif r["reason"]:
            typer.echo(f"{'':<16} {r['reason']}")


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
    for line in _readable(detail):
        typer.echo(line)


def _plain(value: object) -> str:
    """A timeline detail as ``key=value`` words (nested values flattened), not JSON."""
    if isinstance(value, dict):
        return " ".join(f"{k}={_plain(v)}" for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, list):
        return ",".join(_plain(v) for v in value)
    return str(value)


def _readable(d: InvoiceDetail) -> list[str]:
    total = format_amount(Decimal(str(d["total"])), str(d["currency"]))
    mode = "live" if d["livemode"] else "test"
    lines = [
        f"{d['number']} ({d['kind']}, {mode}) issued {d['issue_date']}, total {total}",
        f"  payment: {d['payment_key']}",
        (
            f"  ANAF: {d['anaf_state']}   upload index {d['upload_index'] or '-'}   "
            f"download id {d['download_id'] or '-'}   deadline {d['deadline'] or '-'}"
        ),
        f"  email: {d['email']['text']}",
    ]
    waiting = d["waiting"]
    if waiting is not None:
        lines.append(f"  waiting: {waiting['code']} {waiting['message_en']} -> {waiting['fix']}")
    elif d.get("reason"):
        lines.append(f"  reason: {d['reason']}")
    pending = d["anaf"].get("archive_after")
    if d.get("archive_path"):
        lines.append(f"  signed ZIP: {d['archive_path']}")
    elif d["anaf_state"] == "ok" and pending:
        lines.append(f"  signed ZIP: pending, downloaded from {pending} (off-peak)")
    for f in d["findings"]:
        lines += [f"  ! {f['code']}: {f['message_en']}", f"    {f['message_ro']}"]
        if f.get("hint"):
            lines.append(f"    fix: {f['hint']}")
    if d["timeline"]:
        lines.append("  timeline:")
        lines += [
            f"    {e['at']}  {e['event']:<24} {_plain(e['detail'] or '')}" for e in d["timeline"]
        ]
    return lines


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
