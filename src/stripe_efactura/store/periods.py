"""The books of one period: the SQL the journal, the period archive and the audit need.

A period is a half-open range of issue dates (invoices) or of payment times (payments).
Every function takes a ``Connection`` inside the caller's transaction; none commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import invoice_files
from .db import record
from .tables import invoice_log, invoices, payments


@dataclass(frozen=True)
class IssuedInvoice:
    """An invoice or storno of the books, without its documents (XML, PDF, signed ZIP)."""

    id: int
    series_code: str
    seq: int
    number: str
    kind: str
    payment_key: str
    refers_to: int | None
    issue_date: date
    currency: str
    total: str
    livemode: bool
    validation: str | None
    anaf_state: str
    upload_index: str | None
    download_id: str | None
    anaf_messages: str | None
    deadline: date | None
    email_state: str
    created_at: datetime
    updated_at: datetime
    has_signed_zip: bool
    """Whether the ANAF-signed ZIP is stored."""
    snapshot: str | None
    """The invoice snapshot (JSON) when it was asked for, else None."""

    def read_snapshot(self) -> str:
        """The snapshot of an invoice read with ``snapshot=True``."""
        if self.snapshot is None:
            raise LookupError(f"invoice {self.number} was read without its snapshot")
        return self.snapshot


@dataclass(frozen=True)
class BookedPayment:
    """A payment, refund or dispute of the books, without its sale JSON."""

    payment_key: str
    kind: str
    owner_type: str
    owner_id: str
    status: str
    livemode: bool
    currency: str
    amount: int
    paid_at: datetime
    degraded: bool
    problems: str
    refers_to: str | None
    created_at: datetime
    updated_at: datetime


# Columns of an invoice row (the large documents live in ``invoice_files``) and, for the
# audit, without the snapshot either.
_WITH_SNAPSHOT = list(invoices.c)
_LIGHT = [c for c in _WITH_SNAPSHOT if c.name != "snapshot"]
_HAS_ZIP = invoice_files.has("signed_zip").label("has_signed_zip")
_NO_SNAPSHOT = sa.null().label("snapshot")
_PAYMENT_COLS = [
    c for c in payments.c if c.name not in ("sale", "event_ids", "overrides", "search")
]


def _light() -> sa.Select[*tuple[object, ...]]:
    return sa.select(*_LIGHT, _HAS_ZIP, _NO_SNAPSHOT)


def invoices_issued(
    conn: Connection,
    start: date,
    end: date,
    *,
    livemode: bool | None = True,
    snapshot: bool = True,
) -> list[IssuedInvoice]:
    """Invoices and stornos issued in ``[start, end)``, in series and number order, with their
    ANAF fields and (``snapshot``) the snapshot, no documents; ``has_signed_zip`` tells whether
    the ANAF-signed ZIP is stored. ``livemode`` None: both modes."""
    q = (
        (sa.select(*_WITH_SNAPSHOT, _HAS_ZIP) if snapshot else _light())
        .where(invoices.c.issue_date >= start, invoices.c.issue_date < end)
        .order_by(invoices.c.series_code, invoices.c.seq)
    )
    if livemode is not None:
        q = q.where(invoices.c.livemode.is_(livemode))
    return [record(IssuedInvoice, r) for r in conn.execute(q)]


def invoices_without_documents(
    conn: Connection, where: sa.ColumnElement[bool] | None = None
) -> list[IssuedInvoice]:
    """Every invoice (matching ``where``) without its documents and snapshot, by series and
    number."""
    query = _light() if where is None else _light().where(where)
    query = query.order_by(invoices.c.series_code, invoices.c.seq)
    return [record(IssuedInvoice, r) for r in conn.execute(query)]


def snapshot_of(conn: Connection, invoice_id: int) -> str:
    return str(
        conn.execute(sa.select(invoices.c.snapshot).where(invoices.c.id == invoice_id)).scalar_one()
    )


def invoices_by_payment_key(
    conn: Connection, keys: Sequence[str]
) -> dict[tuple[str, str], IssuedInvoice]:
    """``{(payment_key, kind): invoice without snapshot}`` for the given payment keys."""
    out: dict[tuple[str, str], IssuedInvoice] = {}
    for chunk in _chunks(list(dict.fromkeys(keys)), 500):
        for row in conn.execute(_light().where(invoices.c.payment_key.in_(chunk))):
            invoice = record(IssuedInvoice, row)
            out[(invoice.payment_key, invoice.kind)] = invoice
    return out


def payments_between(
    conn: Connection, start: datetime, end: datetime, *, livemode: bool | None = True
) -> list[BookedPayment]:
    """Payments, refunds and disputes recorded with a payment time in ``[start, end)``
    (naive UTC), without their sale JSON."""
    q = (
        sa.select(*_PAYMENT_COLS)
        .where(payments.c.paid_at >= start, payments.c.paid_at < end)
        .order_by(payments.c.paid_at, payments.c.payment_key)
    )
    if livemode is not None:
        q = q.where(payments.c.livemode.is_(livemode))
    return [record(BookedPayment, r) for r in conn.execute(q)]


def payments_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, BookedPayment]:
    """``{payment_key: payment}`` (without the sale JSON) for the given keys."""
    out: dict[str, BookedPayment] = {}
    for chunk in _chunks(list(dict.fromkeys(keys)), 500):
        q = sa.select(*_PAYMENT_COLS).where(payments.c.payment_key.in_(chunk))
        for row in conn.execute(q):
            payment = record(BookedPayment, row)
            out[payment.payment_key] = payment
    return out


def upload_indexes(conn: Connection, indexes: Sequence[str]) -> dict[str, IssuedInvoice]:
    """``{upload_index: invoice without snapshot}`` for the given ANAF upload indexes."""
    out: dict[str, IssuedInvoice] = {}
    for chunk in _chunks(list(dict.fromkeys(indexes)), 500):
        for row in conn.execute(_light().where(invoices.c.upload_index.in_(chunk))):
            invoice = record(IssuedInvoice, row)
            out[str(invoice.upload_index)] = invoice
    return out


def invoice_by_logged_index(conn: Connection, index: str) -> IssuedInvoice | None:
    """The invoice an earlier upload index belonged to (its timeline logs every upload), or
    None: an invoice ANAF rejected and that was sent again has a new index, but the SPV still
    lists the old one's error message."""
    if not index.isdigit():
        return None
    found = conn.execute(
        sa.select(invoice_log.c.invoice_id)
        .where(
            invoice_log.c.event.in_(["anaf_uploaded", "anaf_reconciled"]),
            invoice_log.c.detail.like(f'%"index": "{index}"%'),
        )
        .limit(1)
    ).scalar()
    if found is None:
        return None
    row = conn.execute(_light().where(invoices.c.id == found)).first()
    return None if row is None else record(IssuedInvoice, row)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
