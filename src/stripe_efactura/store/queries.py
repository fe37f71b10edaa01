"""Filtered, cursor-paginated listings for the REST API and the console.

A page is read with a keyset cursor (the sort key of the last row of the previous page), never
with OFFSET, so page N costs what page 1 costs: payments are ordered by ``(paid_at,
payment_key)`` descending (index ``ix_payments_paid_at_search``; with a status filter
``ix_payments_status_paid_at``), invoices by ``id`` descending (the primary key) or, with an
issue-date range, by ``(issue_date, id)`` descending (``ix_invoices_issue_date``), so that a
filtered page reads its rows in index order and stops after ``limit``. The text filter ``q``
reads the lower-cased ``search`` columns through a trigram index (``store/textsearch.py``).
Listings never read the large columns (XML, PDF, signed ZIP, raw sale).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import invoice_files
from .db import record
from .listings import INVOICE_COLS, PAYMENT_COLS, InvoiceRow, PaymentRow, invoice_rows, payment_rows
from .tables import (
    anaf_quota,
    invoices,
    jobs,
    notices,
    payments,
    schedules,
    stripe_events,
)
from .textsearch import invoices_match, payments_match


@dataclass(frozen=True)
class PaymentFilter:
    status: str | None = None
    kind: str | None = None
    livemode: bool | None = None
    paid_from: datetime | None = None
    paid_to: datetime | None = None
    """Exclusive."""
    text: str | None = None
    """Part of the payment key, the owner id or the sale (buyer name, e-mail)."""


@dataclass(frozen=True)
class InvoiceFilter:
    series: str | None = None
    number_from: int | None = None
    number_to: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    """Inclusive."""
    anaf_state: str | None = None
    kind: str | None = None
    overdue_on: date | None = None
    """Only invoices past their upload deadline on this day and not accepted by ANAF."""
    payment_key: str | None = None
    text: str | None = None
    """Part of the number, the payment key, the buyer's name, CUI / CNP, VAT id or e-mail."""


OPEN_STATES = ("ok",)


def payments_page(
    conn: Connection,
    flt: PaymentFilter,
    *,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[PaymentRow]:
    """Up to ``limit`` payments after the cursor ``(paid_at, payment_key)``, newest first."""
    query = sa.select(*PAYMENT_COLS)
    if flt.status:
        query = query.where(payments.c.status == flt.status)
    if flt.kind:
        query = query.where(payments.c.kind == flt.kind)
    if flt.livemode is not None:
        query = query.where(payments.c.livemode == flt.livemode)
    if flt.paid_from:
        query = query.where(payments.c.paid_at >= flt.paid_from)
    if flt.paid_to:
        query = query.where(payments.c.paid_at < flt.paid_to)
    if flt.text:
        query = query.where(payments_match(conn, flt.text))
    if after is not None:
        paid_at, key = after
        # a row-value comparison, so that the index range scan starts at the cursor
        query = query.where(
            sa.tuple_(payments.c.paid_at, payments.c.payment_key)
            < sa.tuple_(sa.literal(paid_at, sa.DateTime), sa.literal(key, sa.String))
        )
    query = query.order_by(payments.c.paid_at.desc(), payments.c.payment_key.desc()).limit(limit)
    return payment_rows(conn.execute(query).all())


def by_issue_date(flt: InvoiceFilter) -> bool:
    """Whether a listing with these filters is ordered by ``(issue_date, id)`` (a date range:
    the index ``ix_invoices_issue_date`` then reads just the range, in order) rather than by
    ``id``."""
    return flt.issued_from is not None or flt.issued_to is not None


def invoices_page(
    conn: Connection,
    flt: InvoiceFilter,
    *,
    after: int | tuple[date, int] | None,
    limit: int,
) -> list[InvoiceRow]:
    """Up to ``limit`` invoices after the cursor, newest first: by id, or with a date range
    by ``(issue_date, id)`` (the cursor is then that pair)."""
    query = sa.select(*INVOICE_COLS)
    if flt.series:
        query = query.where(invoices.c.series_code == flt.series)
    if flt.number_from is not None:
        query = query.where(invoices.c.seq >= flt.number_from)
    if flt.number_to is not None:
        query = query.where(invoices.c.seq <= flt.number_to)
    if flt.issued_from:
        query = query.where(invoices.c.issue_date >= flt.issued_from)
    if flt.issued_to:
        query = query.where(invoices.c.issue_date <= flt.issued_to)
    if flt.anaf_state:
        query = query.where(invoices.c.anaf_state == flt.anaf_state)
    if flt.kind:
        query = query.where(invoices.c.kind == flt.kind)
    if flt.payment_key:
        query = query.where(invoices.c.payment_key == flt.payment_key)
    if flt.text:
        query = query.where(invoices_match(conn, flt.text))
    if flt.overdue_on is not None:
        query = query.where(
            invoices.c.deadline < flt.overdue_on,
            invoices.c.anaf_state.not_in(("ok", "not_uploaded")),
        )
    if by_issue_date(flt):
        if isinstance(after, tuple):
            query = query.where(
                sa.tuple_(invoices.c.issue_date, invoices.c.id)
                < sa.tuple_(sa.literal(after[0], sa.Date), sa.literal(after[1], sa.Integer))
            )
        order = [invoices.c.issue_date.desc(), invoices.c.id.desc()]
    else:
        if isinstance(after, int):
            query = query.where(invoices.c.id < after)
        order = [invoices.c.id.desc()]
    return invoice_rows(conn.execute(query.order_by(*order).limit(limit)).all())


@dataclass(frozen=True)
class StoredDocuments:
    """The stored files of one invoice: XML, PDF (None until rendered) and the ANAF-signed ZIP
    (None until ANAF validated it)."""

    id: int
    number: str
    xml: bytes
    pdf: bytes | None
    signed_zip: bytes | None
    anaf_state: str


def stored_documents(
    conn: Connection,
    *,
    number: str | None = None,
    invoice_id: int | None = None,
    kinds: Sequence[invoice_files.FileKind] = invoice_files.KINDS,
) -> StoredDocuments | None:
    """The documents of the invoice with ``number`` (or ``invoice_id``), or None; only the
    ``kinds`` given are read (the others are empty: ``b""`` and None)."""
    key = invoices.c.number == number if invoice_id is None else invoices.c.id == invoice_id
    row = conn.execute(
        sa.select(
            invoices.c.id,
            invoices.c.number,
            *(invoice_files.content_of(kind) for kind in kinds),
            invoices.c.anaf_state,
        ).where(key)
    ).first()
    if row is None:
        return None
    data = row._mapping
    return StoredDocuments(
        id=int(row.id),
        number=str(row.number),
        xml=bytes(data.get("xml") or b""),
        pdf=None if data.get("pdf") is None else bytes(data["pdf"]),
        signed_zip=None if data.get("signed_zip") is None else bytes(data["signed_zip"]),
        anaf_state=str(row.anaf_state),
    )


def document_kinds(conn: Connection, invoice_id: int) -> frozenset[str]:
    """Which documents (``xml``, ``pdf``, ``signed_zip``) an invoice has, from the index."""
    return invoice_files.kinds_of(conn, invoice_id)


@dataclass(frozen=True)
class InvoiceExtras:
    """What an invoice's detail reads besides its listing row (JSON texts)."""

    snapshot: str
    validation: str | None
    anaf_messages: str | None


def invoice_extras(conn: Connection, invoice_id: int) -> InvoiceExtras:
    """``snapshot, validation, anaf_messages`` of one invoice."""
    row = conn.execute(
        sa.select(invoices.c.snapshot, invoices.c.validation, invoices.c.anaf_messages).where(
            invoices.c.id == invoice_id
        )
    ).one()
    return record(InvoiceExtras, row)


@dataclass(frozen=True)
class PaymentEvent:
    """A Stripe event of a payment, without its payload."""

    id: str
    type: str
    received_at: datetime
    outcome: str
    reason: str | None
    source: str


def payment_events(conn: Connection, event_ids: Sequence[str]) -> list[PaymentEvent]:
    if not event_ids:
        return []
    query = (
        sa.select(
            stripe_events.c.id,
            stripe_events.c.type,
            stripe_events.c.received_at,
            stripe_events.c.outcome,
            stripe_events.c.reason,
            stripe_events.c.source,
        )
        .where(stripe_events.c.id.in_(list(event_ids)))
        .order_by(stripe_events.c.received_at, stripe_events.c.id)
    )
    return [record(PaymentEvent, r) for r in conn.execute(query)]


# -- notices ----------------------------------------------------------------------------


def _notice_fixed() -> sa.ColumnElement[bool]:
    """A payment problem whose payment has since been invoiced (or ignored) is resolved."""
    fixed = (
        sa.select(payments.c.payment_key)
        .where(
            payments.c.payment_key == notices.c.ref,
            payments.c.status.in_(("invoiced", "ignored")),
        )
        .exists()
    )
    return sa.and_(notices.c.kind == "payment_problem", fixed)


@dataclass(frozen=True)
class InboxNotice:
    """A notice as the inbox shows it; ``fixed``: a payment problem since resolved."""

    id: int
    kind: str
    ref: str
    payload: str
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    fixed: bool


def notices_page(
    conn: Connection, *, state: str | None, after: int | None, limit: int
) -> list[InboxNotice]:
    """Notices newest first; ``state`` ``open`` (neither acknowledged nor fixed) or
    ``resolved``; each row has a boolean ``fixed``."""
    fixed = _notice_fixed()
    query = sa.select(notices, fixed.label("fixed"))
    if state == "open":
        query = query.where(notices.c.acknowledged_at.is_(None), sa.not_(fixed))
    elif state == "resolved":
        query = query.where(sa.or_(notices.c.acknowledged_at.is_not(None), fixed))
    if after is not None:
        query = query.where(notices.c.id < after)
    rows = conn.execute(query.order_by(notices.c.id.desc()).limit(limit))
    return [record(InboxNotice, r) for r in rows]


def notice(conn: Connection, notice_id: int) -> InboxNotice | None:
    query = sa.select(notices, _notice_fixed().label("fixed")).where(notices.c.id == notice_id)
    row = conn.execute(query).first()
    return None if row is None else record(InboxNotice, row)


def acknowledge_notice(conn: Connection, notice_id: int, *, by: str, now: datetime) -> bool:
    result = conn.execute(
        sa.update(notices)
        .where(notices.c.id == notice_id, notices.c.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=by)
    )
    return bool(result.rowcount)


# -- readiness and ANAF -----------------------------------------------------------------


def late_schedules(conn: Connection, before: datetime) -> list[str]:
    """Periodic schedules that should have run before ``before`` (no worker advances them)."""
    rows = conn.execute(
        sa.select(schedules.c.name).where(schedules.c.next_run_at < before).order_by("name")
    ).all()
    return [str(r[0]) for r in rows]


def oldest_due_job(conn: Connection) -> datetime | None:
    value = conn.execute(
        sa.select(sa.func.min(jobs.c.run_at)).where(jobs.c.status == "queued")
    ).scalar()
    return value if isinstance(value, datetime) else None


def last_webhook_at(conn: Connection) -> datetime | None:
    value = conn.execute(
        sa.select(sa.func.max(stripe_events.c.received_at)).where(
            stripe_events.c.source == "webhook"
        )
    ).scalar()
    return value if isinstance(value, datetime) else None


def quota_counts(conn: Connection, day: str) -> dict[str, int]:
    """Calls counted today per ANAF quota kind (daily buckets ``kind:key:day``)."""
    rows = conn.execute(
        sa.select(anaf_quota.c.bucket, anaf_quota.c.count).where(
            anaf_quota.c.bucket.like(f"%:{day}")
        )
    ).all()
    out: dict[str, int] = {}
    for bucket, count in rows:
        kind = str(bucket).split(":", 1)[0]
        out[kind] = out.get(kind, 0) + int(count)
    return out


def global_calls_since(conn: Connection, first_bucket: int) -> int:
    rows = conn.execute(
        sa.select(anaf_quota.c.bucket, anaf_quota.c.count).where(
            anaf_quota.c.bucket.like("global:%")
        )
    ).all()
    return sum(int(c) for b, c in rows if int(str(b).split(":", 1)[1]) >= first_bucket)


def deadlines_at_risk(conn: Connection, due_by: date, limit: int = 200) -> list[InvoiceRow]:
    """Live invoices not accepted by ANAF whose deadline is on or before ``due_by``."""
    query = (
        sa.select(*INVOICE_COLS)
        .where(
            invoices.c.livemode.is_(True),
            invoices.c.deadline.is_not(None),
            invoices.c.deadline <= due_by,
            invoices.c.anaf_state.not_in(("ok", "not_uploaded")),
        )
        .order_by(invoices.c.deadline, invoices.c.id)
        .limit(limit)
    )
    return invoice_rows(conn.execute(query).all())
