"""Test helpers: put invoices straight into the books (no Stripe, no ANAF round trip)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from stripe_efactura.app.context import AppContext
from stripe_efactura.config import SeriesConfig
from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.invoicing.serialize import invoice_to_json
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.numbering import ensure_series

SERIES = SeriesConfig(code="invoice", prefix="SEF", padding=6)


def seed(
    ctx: AppContext,
    invoice: Invoice,
    *,
    state: str = "ok",
    signed_zip: bytes | None = b"PK-signed",
    pdf: bytes | None = b"%PDF-1.7 test",
    upload_index: str | None = None,
    livemode: bool = True,
    refers_to: int | None = None,
) -> int:
    """Store ``invoice`` as issued (XML = a marker naming it) and return its id."""
    seq = int(re.sub(r"\D", "", invoice.number))
    with db.write(ctx.engine) as conn:
        key = ensure_series(conn, SERIES)
        new_id = invoice_store.insert_invoice(
            conn,
            series_code=key,
            seq=seq,
            number=invoice.number,
            kind=invoice.kind.value,
            payment_key=invoice.payment_key or f"pi_{seq}",
            issue_date=invoice.issue_date,
            currency=invoice.currency,
            total=str(invoice.totals.tax_inclusive),
            livemode=livemode,
            snapshot=invoice_to_json(invoice),
            xml=f"<Invoice>{invoice.number}</Invoice>".encode(),
            deadline=invoice.issue_date + timedelta(days=7),
            anaf_state=state,
            refers_to=refers_to,
        )
        documents = {"pdf": pdf, "signed_zip": signed_zip}
        values: dict[str, object] = {k: v for k, v in documents.items() if v is not None}
        if upload_index is not None:
            values["upload_index"] = upload_index
        invoice_store.update_invoice(conn, new_id, logged=(), expect=None, **values)
    return new_id


def day(text: str) -> date:
    return date.fromisoformat(text)
