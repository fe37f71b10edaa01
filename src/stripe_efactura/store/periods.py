"""The books of one period: the SQL the journal, the period archive and the audit need.

A period is a half-open range of issue dates (invoices) or of payment times (payments).
Every function takes a ``Connection`` inside the caller's transaction; none commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import invoice_log, invoices, payments

# Columns of an invoice row without the large documents (XML, PDF, signed ZIP) and, for the
# audit, without the snapshot either.
_WITH_SNAPSHOT = [c for c in invoices.c if c.name not in ("xml", "pdf", "signed_zip")]
_LIGHT = [c for c in _WITH_SNAPSHOT if c.name != "snapshot"]


def invoices_issued(
    conn: Connection,
    start: date,
    end: date,
    *,
    livemode: bool | None = True,
    snapshot: bool = True,
) -> list[Any]:
    """Invoices and stornos issued in ``[start, end)``, in series and number order, with their
    ANAF fields and (``snapshot``) the snapshot, no documents; ``has_signed_zip`` tells whether
    the ANAF-signed ZIP is stored. ``livemode`` None: both modes."""
    cols = _WITH_SNAPSHOT if snapshot else _LIGHT
    q = (
        sa.select(*cols, invoices.c.signed_zip.is_not(None).label("has_signed_zip"))
        .where(invoices.c.issue_date >= start, invoices.c.issue_date < end)
        .order_by(invoices.c.series_code, invoices.c.seq)
    )
    if livemode is not None:
        q = q.where(invoices.c.livemode.is_(livemode))
    return list(conn.execute(q).all())


def snapshot_of(conn: Connection, invoice_id: int) -> str:
    return str(
        conn.execute(sa.select(invoices.c.snapshot).where(invoices.c.id == invoice_id)).scalar_one()
    )


def invoices_by_payment_key(conn: Connection, keys: Sequence[str]) -> dict[tuple[str, str], Any]:
    """``{(payment_key, kind): light invoice row}`` for the given payment keys."""
    out: dict[tuple[str, str], Any] = {}
    for chunk in _chunks(list(dict.fromkeys(keys)), 500):
        q = sa.select(*_LIGHT, invoices.c.signed_zip.is_not(None).label("has_signed_zip")).where(
            invoices.c.payment_key.in_(chunk)
        )
        for row in conn.execute(q):
            out[(str(row.payment_key), str(row.kind))] = row
    return out


def payments_between(
    conn: Connection, start: datetime, end: datetime, *, livemode: bool | None = True
) -> list[Any]:
    """Payments, refunds and disputes recorded with a payment time in ``[start, end)``
    (naive UTC), without their sale JSON."""
    cols = [c for c in payments.c if c.name not in ("sale", "event_ids", "overrides")]
    q = (
        sa.select(*cols)
        .where(payments.c.paid_at >= start, payments.c.paid_at < end)
        .order_by(payments.c.paid_at, payments.c.payment_key)
    )
    if livemode is not None:
        q = q.where(payments.c.livemode.is_(livemode))
    return list(conn.execute(q).all())


def payments_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, Any]:
    """``{payment_key: payment row}`` (without the sale JSON) for the given keys."""
    cols = [c for c in payments.c if c.name not in ("sale", "event_ids", "overrides")]
    out: dict[str, Any] = {}
    for chunk in _chunks(list(dict.fromkeys(keys)), 500):
        for row in conn.execute(sa.select(*cols).where(payments.c.payment_key.in_(chunk))):
            out[str(row.payment_key)] = row
    return out


def upload_indexes(conn: Connection, indexes: Sequence[str]) -> dict[str, Any]:
    """``{upload_index: light invoice row}`` for the given ANAF upload indexes."""
    out: dict[str, Any] = {}
    for chunk in _chunks(list(dict.fromkeys(indexes)), 500):
        q = sa.select(*_LIGHT).where(invoices.c.upload_index.in_(chunk))
        for row in conn.execute(q):
            out[str(row.upload_index)] = row
    return out


def invoice_by_logged_index(conn: Connection, index: str) -> Any:
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
    return conn.execute(sa.select(*_LIGHT).where(invoices.c.id == found)).first()


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
