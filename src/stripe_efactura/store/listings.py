"""Read-only queries of the merchant console: filtered, paged listings and day/month counts.

Listings never select the large columns (XML, PDF, signed ZIP, snapshot); each function takes
a ``Connection`` inside the caller's (read) transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import invoice_log, invoices, payments, stripe_events

BLOBS = ("xml", "pdf", "signed_zip", "snapshot")


@dataclass(frozen=True)
class PaymentFilter:
    status: str | None = None
    kind: str | None = None
    live: bool | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class InvoiceFilter:
    kind: str | None = None
    anaf_state: str | None = None
    text: str | None = None
    since: date | None = None
    until: date | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _payment_where(f: PaymentFilter) -> list[Any]:
    where: list[Any] = []
    if f.status:
        where.append(payments.c.status == f.status)
    if f.kind:
        where.append(payments.c.kind == f.kind)
    if f.live is not None:
        where.append(payments.c.livemode.is_(f.live))
    if f.since is not None:
        where.append(payments.c.paid_at >= f.since)
    if f.until is not None:
        where.append(payments.c.paid_at < f.until)
    if f.text:
        pattern = _like(f.text)
        where.append(
            sa.or_(
                sa.func.lower(payments.c.payment_key).like(pattern, escape="\\"),
                sa.func.lower(payments.c.owner_id).like(pattern, escape="\\"),
                sa.func.lower(payments.c.sale).like(pattern, escape="\\"),
            )
        )
    return where


def payments_page(
    conn: Connection, f: PaymentFilter, *, offset: int, limit: int
) -> tuple[list[Any], int]:
    """One page of payments, newest first, and the number of payments matching ``f``."""
    cols = [c for c in payments.c if c.name != "sale"]
    where = _payment_where(f)
    rows = conn.execute(
        sa.select(*cols)
        .where(*where)
        .order_by(payments.c.paid_at.desc(), payments.c.payment_key)
        .offset(offset)
        .limit(limit)
    ).all()
    total = conn.execute(sa.select(sa.func.count()).select_from(payments).where(*where))
    return list(rows), int(total.scalar_one())


def _invoice_where(f: InvoiceFilter) -> list[Any]:
    where: list[Any] = []
    if f.kind:
        where.append(invoices.c.kind == f.kind)
    if f.anaf_state:
        where.append(invoices.c.anaf_state == f.anaf_state)
    if f.since is not None:
        where.append(invoices.c.issue_date >= f.since)
    if f.until is not None:
        where.append(invoices.c.issue_date <= f.until)
    if f.text:
        pattern = _like(f.text)
        where.append(
            sa.or_(
                sa.func.lower(invoices.c.number).like(pattern, escape="\\"),
                sa.func.lower(invoices.c.payment_key).like(pattern, escape="\\"),
                sa.func.lower(invoices.c.snapshot).like(pattern, escape="\\"),
            )
        )
    return where


def invoice_columns() -> list[Any]:
    cols: list[Any] = [c for c in invoices.c if c.name not in BLOBS]
    cols.append(invoices.c.signed_zip.is_not(None).label("archived"))
    cols.append(invoices.c.pdf.is_not(None).label("has_pdf"))
    return cols


def invoices_page(
    conn: Connection, f: InvoiceFilter, *, offset: int, limit: int
) -> tuple[list[Any], int]:
    """One page of invoices, newest number first, and the number matching ``f``."""
    where = _invoice_where(f)
    rows = conn.execute(
        sa.select(*invoice_columns())
        .where(*where)
        .order_by(invoices.c.issue_date.desc(), invoices.c.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = conn.execute(sa.select(sa.func.count()).select_from(invoices).where(*where))
    return list(rows), int(total.scalar_one())


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


def events_by_id(conn: Connection, event_ids: list[str]) -> list[Any]:
    if not event_ids:
        return []
    return list(
        conn.execute(
            sa.select(
                stripe_events.c.id,
                stripe_events.c.type,
                stripe_events.c.source,
                stripe_events.c.received_at,
                stripe_events.c.outcome,
                stripe_events.c.reason,
                stripe_events.c.processed_at,
            )
            .where(stripe_events.c.id.in_(event_ids))
            .order_by(stripe_events.c.received_at, stripe_events.c.id)
        ).all()
    )


def invoice_blob(conn: Connection, number: str, column: str) -> bytes | None:
    """The stored ``xml``, ``pdf`` or ``signed_zip`` of an invoice (None: none stored)."""
    if column not in ("xml", "pdf", "signed_zip"):
        raise ValueError(column)
    value = conn.execute(
        sa.select(invoices.c[column]).where(invoices.c.number == number)
    ).scalar_one_or_none()
    return None if value is None else bytes(value)


def last_invoice_event(conn: Connection, event: str) -> datetime | None:
    value = conn.execute(
        sa.select(sa.func.max(invoice_log.c.at)).where(invoice_log.c.event == event)
    ).scalar_one_or_none()
    return value if isinstance(value, datetime) else None


def last_webhook_at(conn: Connection) -> datetime | None:
    value = conn.execute(
        sa.select(sa.func.max(stripe_events.c.received_at)).where(
            stripe_events.c.source == "webhook"
        )
    ).scalar_one_or_none()
    return value if isinstance(value, datetime) else None


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


def quota_buckets(conn: Connection, day: str) -> list[tuple[str, int]]:
    """The daily ANAF quota buckets (``kind:key:YYYY-MM-DD``) of ``day`` and their counts."""
    from .tables import anaf_quota

    rows = conn.execute(
        sa.select(anaf_quota.c.bucket, anaf_quota.c.count)
        .where(anaf_quota.c.bucket.like(f"%:{day}"))
        .order_by(anaf_quota.c.bucket)
    ).all()
    return [(str(b), int(c)) for b, c in rows]


def invoice_row(conn: Connection, number: str) -> Any:
    """An invoice without its large columns (None: no such number)."""
    return conn.execute(sa.select(*invoice_columns()).where(invoices.c.number == number)).first()


def invoice_number(conn: Connection, invoice_id: int) -> str | None:
    value = conn.execute(
        sa.select(invoices.c.number).where(invoices.c.id == invoice_id)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def oldest_due_job_age(conn: Connection) -> float | None:
    """Seconds the oldest due, unclaimed job has waited past its run time (None: none)."""
    from . import db
    from .tables import jobs

    now = db.db_now(conn)
    oldest = conn.execute(
        sa.select(sa.func.min(jobs.c.run_at)).where(jobs.c.status == "queued", jobs.c.run_at <= now)
    ).scalar_one_or_none()
    if not isinstance(oldest, datetime):
        return None
    return (now.replace(tzinfo=None) - oldest.replace(tzinfo=None)).total_seconds()
