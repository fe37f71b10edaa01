"""The one read path of the REST API and the console: payments and invoices, filtered and
paginated, with their detail, waiting reason and timeline; invoice documents; the day's and
month's counts of the console's home page.

The ``/api/v1`` handlers and the console's pages call these same functions (the console only
renders what they return). Pages use opaque cursors (see ``store/queries.py``): the client
passes back ``next_cursor`` to get the next page. Views are JSON-able TypedDicts
(``app/browse_views.py``; the API's pydantic models describe the same keys).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from ..invoicing.serialize import invoice_from_json
from ..jsontypes import JsonArray
from ..money import from_minor
from ..store import db, repo
from ..store import listings as rows_store
from ..store import queries as q
from ..store.anaf_work import AnafWork
from ..store.invoice_files import FileKind
from ..store.listings import InvoiceRow, PaymentRow
from ..store.queries import InvoiceFilter, PaymentFilter
from ..store.repo import PaymentRecord
from ..tz import BUCHAREST
from . import anaf_admin, anaf_deadlines, timeline, waiting
from .browse_views import (
    InvoiceDetail,
    InvoiceItem,
    InvoiceView,
    Overview,
    Page,
    PaymentDetail,
    PaymentItem,
    PaymentView,
)
from .context import AppContext
from .refusals import Invalid, NotFound

__all__ = ["InvoiceFilter", "InvoiceView", "Page", "PaymentFilter", "payment_filter"]
MAX_PAGE = 200


def _encode(value: Sequence[str | int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(cursor: str) -> JsonArray:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(value, list):
        raise _bad_cursor()
    return value


def _bad_cursor() -> Invalid:
    return Invalid(
        "E-API-CURSOR",
        "The cursor is not one this API returned.",
        "Cursorul nu este unul întors de acest API.",
        field="cursor",
    )


def _limit(limit: int) -> int:
    return max(1, min(MAX_PAGE, limit))


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def today(ctx: AppContext) -> date:
    return ctx.clock().astimezone(BUCHAREST).date()


# -- payments ---------------------------------------------------------------------------


def payment_view(r: PaymentRecord | PaymentRow) -> PaymentView:
    return {
        "payment_key": r.payment_key,
        "kind": r.kind,
        "status": r.status,
        "livemode": bool(r.livemode),
        "currency": r.currency,
        "amount_minor": int(r.amount),
        "amount": str(from_minor(int(r.amount), r.currency)),
        "paid_at": _iso(r.paid_at),
        "owner": {"type": r.owner_type, "id": r.owner_id},
        "degraded": bool(r.degraded),
        "problems": json.loads(r.problems),
        "refers_to": r.refers_to,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "stripe_url": stripe_url(str(r.owner_id), bool(r.livemode), str(r.owner_type)),
    }


def _local_start(day: date) -> datetime:
    """Midnight of a Bucharest day as the UTC-naive moment the database stores (the first
    and the last day the calendar has: the earliest and the latest moment)."""
    try:
        local = datetime.combine(day, time(0), tzinfo=BUCHAREST)
        return local.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return datetime.min if day.year == 1 else datetime.max


def payment_filter(
    *,
    status: str | None = None,
    kind: str | None = None,
    livemode: bool | None = None,
    paid_from: date | None = None,
    paid_to: date | None = None,
    text: str | None = None,
) -> PaymentFilter:
    """The payments filter of the API's and the console's listing: ``paid_from``/``paid_to``
    are Bucharest days, both included."""
    return PaymentFilter(
        status=status or None,
        kind=kind or None,
        livemode=livemode,
        paid_from=_local_start(paid_from) if paid_from else None,
        paid_to=_local_start(paid_to + timedelta(days=1))
        if paid_to and paid_to < date.max
        else None,
        text=text or None,
    )


def list_payments(
    ctx: AppContext, flt: q.PaymentFilter, *, cursor: str | None = None, limit: int = 50
) -> Page[PaymentItem]:
    limit = _limit(limit)
    after = None
    if cursor:
        parts = _decode(cursor)
        try:
            after = (datetime.fromisoformat(str(parts[0])), str(parts[1]))
        except (ValueError, IndexError) as exc:
            raise _bad_cursor() from exc
    with db.read(ctx.engine) as conn:
        rows = q.payments_page(conn, flt, after=after, limit=limit + 1)
    waits = waiting.PaymentWaits(ctx)
    items = [_payment_item(r, waits) for r in rows[:limit]]
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = _encode([last.paid_at.isoformat(), last.payment_key])
    return Page(items, nxt)


def _payment_not_found(key: str) -> NotFound:
    return NotFound(
        "E-PAYMENT-NOT-FOUND", f"No payment {key}.", f"Plata {key} nu există.", field="payment"
    )


def _payment_item(r: PaymentRecord | PaymentRow, waits: waiting.PaymentWaits) -> PaymentItem:
    return {**payment_view(r), "waiting": waits.as_dict(r)}


def payment_detail(ctx: AppContext, key: str) -> PaymentDetail:
    """The payment, its Stripe events, buyer overrides, invoices and one timeline."""
    with db.read(ctx.engine) as conn:
        row = repo.get_payment(conn, key)
        if row is None:
            raise _payment_not_found(key)
        event_ids = json.loads(row.event_ids)
        events = q.payment_events(conn, event_ids)
        issued = rows_store.invoices_of_payment(conn, key)
        reversals = rows_store.payments_referring_to(conn, key)
    waits = waiting.PaymentWaits(ctx)
    return {
        **_payment_item(row, waits),
        "overrides": json.loads(row.overrides) if row.overrides else None,
        "events": [
            {
                "id": e.id,
                "type": e.type,
                "received_at": _iso(e.received_at),
                "outcome": e.outcome,
                "reason": e.reason,
                "source": e.source,
            }
            for e in events
        ],
        "invoices": _invoice_views(ctx, issued, today(ctx)),
        "reversals": [_payment_item(r, waits) for r in reversals],
        "timeline": timeline.payment_timeline(ctx, key, event_ids),
    }


_BY_PREFIX = {
    "pi_": "payments",
    "ch_": "payments",
    "py_": "payments",
    "in_": "invoices",
    "cus_": "customers",
    "re_": "refunds",
    "dp_": "disputes",
    "du_": "disputes",
    "cs_": "checkout/sessions",
}
_BY_TYPE = {
    "invoice": "invoices",
    "checkout_session": "checkout/sessions",
    "payment_intent": "payments",
    "charge": "payments",
}


def stripe_url(object_id: str, livemode: bool, object_type: str = "") -> str:
    """The object in the Stripe dashboard (where the merchant fixes the data): found by the
    id's prefix, else by its type, else among the payments."""
    base = "https://dashboard.stripe.com" + ("" if livemode else "/test")
    page = next((v for k, v in _BY_PREFIX.items() if object_id.startswith(k)), None)
    return f"{base}/{page or _BY_TYPE.get(object_type, 'payments')}/{object_id}"


# -- invoices ---------------------------------------------------------------------------


def invoice_view(r: InvoiceRow, on: date) -> InvoiceView:
    overdue = (
        r.deadline is not None and r.deadline < on and r.anaf_state not in ("ok", "not_uploaded")
    )
    return {
        "id": int(r.id),
        "number": r.number,
        "series": r.series_code,
        "seq": int(r.seq),
        "kind": r.kind,
        "payment_key": r.payment_key,
        "refers_to_id": r.refers_to,
        "issue_date": _iso(r.issue_date),
        "currency": r.currency,
        "total": r.total,
        "livemode": bool(r.livemode),
        "anaf_state": r.anaf_state,
        "upload_index": r.upload_index,
        "download_id": r.download_id,
        "deadline": _iso(r.deadline),
        "overdue": overdue,
        "email_state": r.email_state,
        "created_at": _iso(r.created_at),
        "deadline_status": anaf_deadlines.deadline_status(r, on),
    }


def _invoice_views(ctx: AppContext, rows: Sequence[InvoiceRow], on: date) -> list[InvoiceItem]:
    """Invoice views with their waiting reason (``waiting``), worked out as ``invoices list``
    does: the lifecycle's recorded reason first, else from the ANAF authorisation."""
    waits = waiting.InvoiceWaits(ctx)
    return [
        {
            **invoice_view(r, on),
            "waiting": waits.as_dict(
                str(r.anaf_state),
                AnafWork.from_json(r.anaf_messages).reason,
                livemode=bool(r.livemode),
            ),
        }
        for r in rows
    ]


def _invoice_cursor(cursor: str, by_date: bool) -> int | tuple[date, int]:
    """``[id]``, or ``[issue_date, id]`` for a listing ordered by issue date."""
    parts = _decode(cursor)
    try:
        if by_date and len(parts) == 2 and isinstance(parts[1], int):
            return date.fromisoformat(str(parts[0])), int(parts[1])
        if not by_date and len(parts) == 1 and isinstance(parts[0], int):
            return int(parts[0])
    except ValueError as exc:
        raise _bad_cursor() from exc
    raise _bad_cursor()


def list_invoices(
    ctx: AppContext, flt: q.InvoiceFilter, *, cursor: str | None = None, limit: int = 50
) -> Page[InvoiceItem]:
    limit = _limit(limit)
    by_date = q.by_issue_date(flt)
    after = _invoice_cursor(cursor, by_date) if cursor else None
    on = today(ctx)
    with db.read(ctx.engine) as conn:
        rows = q.invoices_page(conn, flt, after=after, limit=limit + 1)
    items = _invoice_views(ctx, rows[:limit], on)
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        key: list[str | int] = [int(last.id)]
        if by_date:
            key.insert(0, last.issue_date.isoformat())
        nxt = _encode(key)
    return Page(items, nxt)


def invoice_not_found(number: str) -> NotFound:
    return NotFound(
        "E-INVOICE-NOT-FOUND",
        f"No invoice numbered {number}.",
        f"Nu există factura cu numărul {number}.",
        field="number",
    )


def invoice_detail(ctx: AppContext, number: str) -> InvoiceDetail:
    """The invoice, its buyer, what refers to it, ANAF findings and its timeline."""
    with db.read(ctx.engine) as conn:
        row = rows_store.invoice_row(conn, number)
        if row is None:
            raise invoice_not_found(number)
        extras = q.invoice_extras(conn, int(row.id))
        stornos = rows_store.stornos_of(conn, int(row.id))
        kinds = q.document_kinds(conn, int(row.id))
        original = rows_store.invoice_number(conn, int(row.refers_to)) if row.refers_to else None
    on = today(ctx)
    summary = anaf_admin.invoice_detail(ctx, number)
    buyer = invoice_from_json(extras.snapshot).buyer
    return {
        **invoice_view(row, on),
        "deadline_status": summary.get("deadline_status"),
        "buyer": {
            "name": buyer.name,
            "kind": str(buyer.kind.value),
            "legal_id": buyer.legal_id,
            "vat_id": buyer.vat_id,
            "email": buyer.email,
            "city": buyer.address.city,
            "country": buyer.address.country,
        },
        "refers_to": original,
        "stornos": [s.number for s in stornos],
        "storno_invoices": _invoice_views(ctx, stornos, on),
        "email": summary.get("email"),
        "stripe_url": stripe_url(str(row.payment_key), bool(row.livemode)),
        "findings": summary.get("findings", []),
        "anaf": summary.get("anaf", {}),
        "documents": {
            "xml": True,
            "pdf": "pdf" in kinds,
            "signed_zip": "signed_zip" in kinds,
        },
        "timeline": summary.get("timeline", []),
        "waiting": summary.get("waiting"),
    }


# what ``document`` reads: the PDF is ``ensure_pdf``'s
_READS: dict[str, tuple[FileKind, ...]] = {"xml": ("xml",), "zip": ("signed_zip",)}


def document(ctx: AppContext, number: str, kind: str) -> tuple[bytes, str, str]:
    """``(content, media type, file name)`` of an invoice's ``pdf``, ``xml`` or ``zip``. The PDF
    is rendered on demand when the worker has not made it yet; the signed ZIP exists once ANAF
    validated the invoice."""
    with db.read(ctx.engine) as conn:
        row = q.stored_documents(conn, number=number, kinds=_READS.get(kind, ()))
    if row is None:
        raise invoice_not_found(number)
    if kind == "xml":
        return row.xml, "application/xml", f"{number}.xml"
    if kind == "pdf":
        from .documents import ensure_pdf

        return ensure_pdf(ctx, row.id), "application/pdf", f"{number}.pdf"
    if row.signed_zip is None:
        raise NotFound(
            "E-INVOICE-NO-SIGNED-ZIP",
            f"Invoice {number} has no ANAF-signed archive yet (ANAF state {row.anaf_state}).",
            f"Factura {number} nu are încă arhiva semnată de ANAF (stare {row.anaf_state}).",
            field="number",
        )
    return row.signed_zip, "application/zip", f"{number}.zip"


# -- the console's home counts ------------------------------------------------------------


def overview(ctx: AppContext) -> Overview:
    """Counts of today and of this month (Europe/Bucharest days): payments, amounts by
    currency, invoices, stornos, ANAF states; and how many payments need attention."""
    day = today(ctx)
    month = day.replace(day=1)
    with db.read(ctx.engine) as conn:
        return {
            "day": day,
            "today": rows_store.counts_since(conn, _local_start(day), day),
            "month": rows_store.counts_since(conn, _local_start(month), month),
            "attention": rows_store.attention_count(conn),
        }
