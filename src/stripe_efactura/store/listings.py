"""Read-only rows of the API's and the console's details and home page: an invoice without its
documents, the invoices and stornos of a payment or an invoice, a payment's refunds and
disputes, and the day/month counts (the filtered, paged listings are ``store/queries.py``).

Rows never select the large columns (XML, PDF, signed ZIP, snapshot); each function takes a
``Connection`` inside the caller's (read) transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import invoices, payments

BLOBS = ("xml", "pdf", "signed_zip", "snapshot")


def invoice_columns() -> list[Any]:
    cols: list[Any] = [c for c in invoices.c if c.name not in BLOBS]
    cols.append(invoices.c.signed_zip.is_not(None).label("archived"))
    cols.append(invoices.c.pdf.is_not(None).label("has_pdf"))
    return cols


def invoices_of_payment(conn: Connection, payment_key: str) -> list[Any]:
    """The invoices and stornos issued for a payment key or referring to its invoice."""
    return list(
        conn.execute(
            sa.select(*invoice_columns())
            .where(invoices.c.payment_key == payment_key)
            .order_by(invoices.c.id)
        ).all()
    )


def stornos_of(conn: Connection, invoice_id: int) -> list[Any]:
    """The stornos of an invoice, oldest first."""
    return list(
        conn.execute(
            sa.select(*invoice_columns())
            .where(invoices.c.refers_to == invoice_id, invoices.c.kind == "storno")
            .order_by(invoices.c.id)
        ).all()
    )


def payments_referring_to(conn: Connection, payment_key: str) -> list[Any]:
    """Refunds and disputes of a payment."""
    cols = [c for c in payments.c if c.name != "sale"]
    return list(
        conn.execute(
            sa.select(*cols)
            .where(payments.c.refers_to == payment_key)
            .order_by(payments.c.created_at)
        ).all()
    )


def counts_since(conn: Connection, since: datetime, since_day: date) -> dict[str, Any]:
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


def invoice_row(conn: Connection, number: str) -> Any:
    """An invoice without its large columns (None: no such number)."""
    return conn.execute(sa.select(*invoice_columns()).where(invoices.c.number == number)).first()


def invoice_number(conn: Connection, invoice_id: int) -> str | None:
    value = conn.execute(
        sa.select(invoices.c.number).where(invoices.c.id == invoice_id)
    ).scalar_one_or_none()
    return None if value is None else str(value)
