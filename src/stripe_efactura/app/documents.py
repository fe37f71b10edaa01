"""The documents of an issued invoice: its PDF (job ``render_pdf``) and the export use-case.

``render_pdf`` renders the PDF from the invoice snapshot stored at issue time, stores it in
``invoice_files`` and then decides what happens to the payer's email, in the same transaction:

* ``[email] send_to_payer = false``: ``email_state`` becomes ``disabled``;
* the buyer of the snapshot has no email: ``no_recipient``;
* otherwise ``queued`` and the job ``email_invoice`` is enqueued (outbox: the job exists iff
  the PDF was stored).

The PDF is rendered once; later callers (email, export, a resend) use the stored bytes, so
what the payer received and what ``invoices export`` writes are the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from ..config import Settings
from ..errors import EfacturaError, UserInputError
from ..files import write_atomic
from ..invoicing.model import Invoice
from ..invoicing.serialize import invoice_from_json
from ..jobs import queue
from ..pdf.fonts import ENV_FONT, ENV_FONT_BOLD, PdfFonts, load_fonts
from ..pdf.render import PdfLogoError, render_pdf
from ..store import db
from ..store import invoices as invoice_store
from ..store.invoices import InvoiceHead
from .context import AppContext

__all__ = [
    "EMAIL_MAX_ATTEMPTS",
    "ExportResult",
    "InvoiceNotFound",
    "ensure_pdf",
    "export",
    "load_logo",
    "render_invoice_pdf",
]

log = logging.getLogger("stripe_efactura.documents")

EMAIL_MAX_ATTEMPTS = 40
"""Attempts of one ``email_invoice`` job: with the backoff of ``app.mailing`` (30 s
doubling to one hour) SMTP may be down for about 33 hours before the email is marked
``failed``."""


class InvoiceNotFound(EfacturaError):
    """No invoice has this number (or id)."""

    code = "E-INVOICE-NOT-FOUND"


def load_logo(ctx: AppContext) -> bytes | None:
    """The bytes of ``company.logo_path`` (relative to ``efactura.toml``), or None.

    An unreadable logo is logged and left out: an invoice without a logo is better than no
    PDF at all.
    """
    raw = ctx.settings.company.logo_path
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = ctx.settings.config_path.parent / path
    try:
        return path.read_bytes()
    except OSError as exc:
        log.warning("company.logo_path %s cannot be read (%s); PDF without a logo", path, exc)
        return None


def pdf_fonts(settings: Settings) -> PdfFonts:
    """The PDF fonts: ``EFACTURA_PDF_FONT`` (``_BOLD``) when set, else the search order."""
    env = {ENV_FONT: settings.pdf_font or "", ENV_FONT_BOLD: settings.pdf_font_bold or ""}
    return load_fonts(env={k: v for k, v in env.items() if v})


def _render(ctx: AppContext, invoice: Invoice) -> tuple[bytes, str | None]:
    """Render the PDF; returns (pdf, logo problem or None)."""
    logo = load_logo(ctx)
    fonts = pdf_fonts(ctx.settings)
    if logo is not None:
        try:
            return render_pdf(invoice, logo=logo, fonts=fonts), None
        except PdfLogoError as exc:
            log.warning("invoice %s: %s; PDF without a logo", invoice.number, exc)
            return render_pdf(invoice, fonts=fonts), str(exc)
    return render_pdf(invoice, fonts=fonts), None


@dataclass(frozen=True)
class EmailPlan:
    """What happens to the payer's email of an invoice whose ``email_state`` is ``pending``:
    its new state (``queued``, ``no_recipient``, ``disabled``), the address or why not."""

    state: str
    to: str | None = None
    reason: str | None = None


def email_plan(
    ctx: AppContext, row: InvoiceHead, invoice: Invoice | None = None
) -> EmailPlan | None:
    """The :class:`EmailPlan` of invoice ``row``; None when its state is not ``pending`` any
    more. ``invoice`` is its snapshot when the caller has read it already."""
    if row.email_state != "pending":
        return None
    if not ctx.settings.email.send_to_payer:
        return EmailPlan("disabled", reason="send_to_payer is off")
    if invoice is None:
        invoice = invoice_from_json(row.snapshot)
    to = (invoice.buyer.email or "").strip()
    if not to:
        return EmailPlan("no_recipient", reason="the payer has no email")
    return EmailPlan("queued", to=to)


def _email_line(plan: EmailPlan) -> invoice_store.Line:
    """The timeline line written with the email's new state: why no email goes, or where."""
    if plan.to is None:
        return ("email_skipped", {"reason": plan.reason})
    return ("email_queued", {"to": plan.to})


def _carry_out(conn: Connection, invoice_id: int, plan: EmailPlan) -> None:
    """Enqueue the email of ``plan`` in the transaction that gives the row its state."""
    if plan.to is not None:
        queue.enqueue(
            conn,
            "email_invoice",
            {"invoice_id": invoice_id},
            dedupe_key=f"email:{invoice_id}",
            max_attempts=EMAIL_MAX_ATTEMPTS,
        )


def _pdf_detail(pdf: bytes, logo_problem: str | None) -> dict[str, object]:
    """The ``pdf_rendered`` line of the timeline."""
    detail: dict[str, object] = {"bytes": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest()}
    if logo_problem:
        detail["logo_error"] = logo_problem
    return detail


@dataclass(frozen=True)
class _Rendered:
    """A PDF rendered from the snapshot of the invoice ``row`` read before the transaction."""

    row: InvoiceHead
    invoice: Invoice
    pdf: bytes
    logo_problem: str | None


_Changes = tuple[EmailPlan | None, list[invoice_store.Line], dict[str, object]]


def _changes(ctx: AppContext, current: InvoiceHead, rendered: _Rendered | None) -> _Changes:
    """For the row ``current``: the PDF (when one was rendered and the row has none), the
    email's state (while ``pending``), their timeline lines, and the email's plan."""
    # the snapshot never changes once numbered: the one parsed for the PDF serves
    same = rendered is not None and current.snapshot == rendered.row.snapshot
    plan = email_plan(ctx, current, rendered.invoice if same and rendered else None)
    lines: list[invoice_store.Line] = []
    values: dict[str, object] = {}
    if rendered is not None and not current.has_pdf:
        values["pdf"] = rendered.pdf
        lines.append(("pdf_rendered", _pdf_detail(rendered.pdf, rendered.logo_problem)))
    if plan is not None:
        values["email_state"] = plan.state
        lines.append(_email_line(plan))
    return plan, lines, values


def render_invoice_pdf(ctx: AppContext, invoice_id: int) -> str:
    """Job ``render_pdf``: store the PDF, then schedule the payer's email. Idempotent.

    Returns ``rendered``, ``already`` (the PDF was stored before) or ``missing``. A missing
    font raises ``FontNotFound`` (a ``ConfigError``): the job is retried with backoff until
    the font is installed. The PDF and the email's state go in with one guarded ``UPDATE``
    when the row is still as read before the PDF was rendered (its email state and
    ``updated_at``); otherwise the row is read again under lock and decides.
    """
    with db.read(ctx.engine) as conn:
        row = invoice_store.head(conn, invoice_id)
    if row is None:
        return "missing"
    rendered: _Rendered | None = None
    if not row.has_pdf:  # render outside the transaction: it is CPU work
        invoice = invoice_from_json(row.snapshot)
        rendered = _Rendered(row, invoice, *_render(ctx, invoice))
    with db.write(ctx.engine) as conn:
        stored = rendered is not None and _store_as_read(ctx, conn, rendered)
        if not stored:
            stored = _store_locked(ctx, conn, invoice_id, rendered)
        queue.finish_in(conn, "render_pdf")  # the job completes with the PDF: one commit
    return "rendered" if stored else "already"


def _store_as_read(ctx: AppContext, conn: Connection, rendered: _Rendered) -> bool:
    """Store the PDF while the row is as read (no locked read); False when it changed."""
    row = rendered.row
    plan, lines, values = _changes(ctx, row, rendered)
    expect = {"email_state": row.email_state, "updated_at": row.updated_at}
    if not invoice_store.update_invoice(conn, row.id, logged=lines, expect=expect, **values):
        return False
    if plan is not None:
        _carry_out(conn, row.id, plan)
    return True


def _store_locked(
    ctx: AppContext, conn: Connection, invoice_id: int, rendered: _Rendered | None
) -> bool:
    """The row read again under lock decides: store the PDF unless one is stored, and move
    the email's state if it is still ``pending``. Returns whether the PDF was stored."""
    current = invoice_store.must_head(conn, invoice_id, for_update=True)
    plan, lines, values = _changes(ctx, current, rendered)
    if values:  # the PDF, the email's state and their lines: one statement on PostgreSQL
        invoice_store.update_invoice(conn, invoice_id, logged=lines, expect=None, **values)
    if plan is not None:
        _carry_out(conn, invoice_id, plan)
    return "pdf" in values


def ensure_pdf(ctx: AppContext, invoice_id: int) -> bytes:
    """The stored PDF of an invoice, rendered and stored first when the job has not run yet."""
    with db.read(ctx.engine) as conn:
        row = invoice_store.get(conn, invoice_id)
    if row is None:
        raise InvoiceNotFound(f"no invoice with id {invoice_id}", invoice_id=invoice_id)
    if row.pdf is not None:
        return bytes(row.pdf)
    pdf, logo_problem = _render(ctx, invoice_from_json(row.snapshot))
    with db.write(ctx.engine) as conn:
        current = invoice_store.must_get(conn, invoice_id, for_update=True)
        if current.pdf is not None:  # somebody else was faster: keep theirs
            return bytes(current.pdf)
        invoice_store.update_invoice(conn, invoice_id, pdf=pdf)
        invoice_store.log(conn, invoice_id, "pdf_rendered", _pdf_detail(pdf, logo_problem))
    return pdf


@dataclass(frozen=True)
class ExportResult:
    number: str
    pdf_path: Path | None
    xml_path: Path | None
    pdf_bytes: int
    xml_bytes: int


def _write_export(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, data)
    except OSError as exc:
        parent = path.parent
        reason = f"{parent} is a file" if parent.is_file() else (exc.strerror or str(exc))
        raise UserInputError(
            f"cannot write {path}: {reason}",
            code="E-EXPORT-PATH",
            message_ro=f"{path} nu poate fi scris",
        ) from exc


def export(
    ctx: AppContext, number: str, pdf_path: Path | None = None, xml_path: Path | None = None
) -> ExportResult:
    """Write the stored PDF and/or UBL XML of invoice ``number`` (exact stored bytes).

    A PDF that was not rendered yet is rendered and stored first. Raises
    :class:`InvoiceNotFound`, or ``ValueError`` when neither path is given.
    """
    if pdf_path is None and xml_path is None:
        raise ValueError("give a PDF path, an XML path or both")
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, number)
    if row is None:
        raise InvoiceNotFound(f"no invoice numbered {number!r}", number=number)
    pdf = ensure_pdf(ctx, int(row.id)) if pdf_path is not None else b""
    xml = bytes(row.xml)
    if pdf_path is not None:
        _write_export(pdf_path, pdf)
    if xml_path is not None:
        _write_export(xml_path, xml)
    return ExportResult(
        number=str(row.number),
        pdf_path=pdf_path,
        xml_path=xml_path,
        pdf_bytes=len(pdf) if pdf_path is not None else 0,
        xml_bytes=len(xml) if xml_path is not None else 0,
    )
