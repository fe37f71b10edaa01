"""Read-only rows of the API's and the console's listings and details: a payment without its
sale, an invoice without its documents, the invoices and stornos of a payment or an invoice, a
payment's refunds and disputes, and the day/month counts (the filtered, paged listings are
``store/queries.py``, which read the same rows).

Rows never select the large columns (XML, PDF, signed ZIP, snapshot, sale); each function takes
a ``Connection`` inside the caller's (read) transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db
from .periods import BookedPayment
from .tables import invoices, payments

#: A payment, refund or dispute as listed: the books' projection of ``payments`` (without the
#: sale, its search text, event ids and overrides), one record type for both.
PaymentRow = BookedPayment


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice or storno as listed: ``invoices`` without its documents, snapshot and
    validation summary."""

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
    anaf_state: str
    upload_index: str | None
    download_id: str | None
    deadline: date | None
    email_state: str
    anaf_messages: str | None
    created_at: datetime
    updated_at: datetime


PAYMENT_COLS = [payments.c[f.name] for f in fields(PaymentRow)]
INVOICE_COLS = [invoices.c[f.name] for f in fields(InvoiceRow)]


def payment_rows(rows: Sequence[db.SqlRow]) -> list[PaymentRow]:
    return [db.record(PaymentRow, r) for r in rows]


def invoice_rows(rows: Sequence[db.SqlRow]) -> list[InvoiceRow]:
    return [db.record(InvoiceRow, r) for r in rows]


def invoices_of_payment(conn: Connection, payment_key: str) -> list[InvoiceRow]:
    """The invoices and stornos issued for a payment key or referring to its invoice."""
    return invoice_rows(
        conn.execute(
            sa.select(*INVOICE_COLS)
            .where(invoices.c.payment_key == payment_key)
            .order_by(invoices.c.id)
        ).all()
    )


def stornos_of(conn: Connection, invoice_id: int) -> list[InvoiceRow]:
    """The stornos of an invoice, oldest first."""
    return invoice_rows(
        conn.execute(
            sa.select(*INVOICE_COLS)
            .where(invoices.c.refers_to == invoice_id, invoices.c.kind == "storno")
            .order_by(invoices.c.id)
        ).all()
    )


def payments_referring_to(conn: Connection, payment_key: str) -> list[PaymentRow]:
    """Refunds and disputes of a payment."""
    return payment_rows(
        conn.execute(
            sa.select(*PAYMENT_COLS)
            .where(payments.c.refers_to == payment_key)
            .order_by(payments.c.created_at)
        ).all()
    )


class Counts(TypedDict):
    """What was paid and issued since a day: payments, amounts (minor units) by currency,
    invoices and stornos, and the invoices by ANAF state."""

    payments: int
    amounts: dict[str, int]
    invoices: int
    stornos: int
    anaf: dict[str, int]


def counts_since(conn: Connection, since: datetime, since_day: date) -> Counts:
    """Payments, invoices and stornos since a moment / an issue date, ANAF states and
    amounts (minor units) by currency."""
    pay = conn.execute(
        sa.select(
            payments.c.kind, payments.c.currency, sa.func.count(), sa.func.sum(payments.c.amount)
        )
        .where(payments.c.paid_at >= since)
        .group_by(payments.c.kind, payments.c.currency)
    ).all()
    inv = conn.execute(
        sa.select(invoices.c.kind, invoices.c.anaf_state, sa.func.count())
        .where(invoices.c.issue_date >= since_day)
        .group_by(invoices.c.kind, invoices.c.anaf_state)
    ).all()
    amounts: dict[str, int] = {}
    payment_count = 0
    for kind, currency, count, total in pay:
        if kind == "payment":
            payment_count += int(count)
            amounts[str(currency)] = amounts.get(str(currency), 0) + int(total or 0)
    by_kind: dict[str, int] = {}
    by_state: dict[str, int] = {}
    for kind, state, count in inv:
        by_kind[str(kind)] = by_kind.get(str(kind), 0) + int(count)
        by_state[str(state)] = by_state.get(str(state), 0) + int(count)
    return {
        "payments": payment_count,
        "amounts": dict(sorted(amounts.items())),
        "invoices": by_kind.get("invoice", 0),
        "stornos": by_kind.get("storno", 0),
        "anaf": by_state,
    }


def attention_count(conn: Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(payments)
            .where(payments.c.status == "needs_attention")
        ).scalar_one()
    )


def invoice_row(conn: Connection, number: str) -> InvoiceRow | None:
    """An invoice without its large columns (None: no such number)."""
    row = conn.execute(sa.select(*INVOICE_COLS).where(invoices.c.number == number)).first()
    return None if row is None else db.record(InvoiceRow, row)


def invoice_number(conn: Connection, invoice_id: int) -> str | None:
    value = conn.execute(
        sa.select(invoices.c.number).where(invoices.c.id == invoice_id)
    ).scalar_one_or_none()
    return None if value is None else str(value)
