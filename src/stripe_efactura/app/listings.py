"""Read use cases of the merchant console: paged listings, details, counts, downloads.

Every function returns plain values (dicts, dataclasses); the web layer only renders them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..errors import EfacturaError
from ..store import db, repo
from ..store import listings as rows_store
from ..tz import BUCHAREST
from . import anaf_admin, anaf_deadlines, documents, timeline
from .context import AppContext

__all__ = [
    "DownloadNotFound",
    "Page",
    "invoice_detail",
    "invoice_file",
    "invoices_page",
    "overview",
    "payment_detail",
    "payments_page",
    "stripe_dashboard_url",
]

PER_PAGE = 25


class DownloadNotFound(EfacturaError):
    code = "E-DOWNLOAD-NOT-FOUND"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def stripe_dashboard_url(object_id: str, livemode: bool) -> str | None:
    """The Stripe dashboard page of a payment, charge, invoice or customer (None: none)."""
    base = "https://dashboard.stripe.com/" + ("" if livemode else "test/")
    for prefix, path in (
        ("pi_", "payments"),
        ("ch_", "payments"),
        ("py_", "payments"),
        ("in_", "invoices"),
        ("cus_", "customers"),
        ("re_", "refunds"),
        ("dp_", "disputes"),
        ("du_", "disputes"),
        ("cs_", "checkout/sessions"),
    ):
        if object_id.startswith(prefix):
            return f"{base}{path}/{object_id}"
    return None


def _payment_summary(row: Any) -> dict[str, Any]:
    problems = json.loads(row.problems or "[]")
    return {
        "payment_key": row.payment_key,
        "kind": row.kind,
        "owner_type": row.owner_type,
        "owner_id": row.owner_id,
        "status": row.status,
        "livemode": bool(row.livemode),
        "currency": row.currency,
        "amount": int(row.amount),
        "paid_at": row.paid_at,
        "degraded": bool(row.degraded),
        "problems": problems,
        "refers_to": row.refers_to,
        "has_overrides": bool(row.overrides),
        "stripe_url": stripe_dashboard_url(str(row.payment_key), bool(row.livemode)),
    }


def payments_page(
    ctx: AppContext, f: rows_store.PaymentFilter, page: int = 1, per_page: int = PER_PAGE
) -> Page:
    page = max(1, page)
    with db.read(ctx.engine) as conn:
        rows, total = rows_store.payments_page(
            conn, f, offset=(page - 1) * per_page, limit=per_page
        )
    return Page([_payment_summary(r) for r in rows], total, page, per_page)


def _invoice_summary(row: Any, today: date) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "number": row.number,
        "kind": row.kind,
        "issue_date": row.issue_date,
        "total": row.total,
        "currency": row.currency,
        "livemode": bool(row.livemode),
        "payment_key": row.payment_key,
        "anaf_state": row.anaf_state,
        "email_state": row.email_state,
        "deadline": row.deadline,
        "deadline_status": anaf_deadlines.deadline_status(row, today),
        "archived": bool(row.archived),
        "refers_to": row.refers_to,
    }


def today(ctx: AppContext) -> date:
    now = ctx.clock()
    return (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(BUCHAREST).date()


def invoices_page(
    ctx: AppContext, f: rows_store.InvoiceFilter, page: int = 1, per_page: int = PER_PAGE
) -> Page:
    page = max(1, page)
    day = today(ctx)
    with db.read(ctx.engine) as conn:
        rows, total = rows_store.invoices_page(
            conn, f, offset=(page - 1) * per_page, limit=per_page
        )
    return Page([_invoice_summary(r, day) for r in rows], total, page, per_page)


def payment_detail(ctx: AppContext, payment_key: str) -> dict[str, Any] | None:
    """A payment with its webhooks, problems, invoices (and stornos), refunds and overrides."""
    day = today(ctx)
    with db.read(ctx.engine) as conn:
        row = repo.get_payment(conn, payment_key)
        if row is None:
            return None
        events = rows_store.events_by_id(conn, list(json.loads(row.event_ids or "[]")))
        issued = rows_store.invoices_of_payment(conn, payment_key)
        reversals = rows_store.payments_referring_to(conn, payment_key)
    out = _payment_summary(row)
    out["owner_url"] = stripe_dashboard_url(str(row.owner_id), bool(row.livemode))
    out["overrides"] = json.loads(row.overrides) if row.overrides else None
    out["events"] = [
        {
            "id": e.id,
            "type": e.type,
            "source": e.source,
            "received_at": e.received_at,
            "outcome": e.outcome,
            "reason": e.reason,
        }
        for e in events
    ]
    out["invoices"] = [_invoice_summary(r, day) for r in issued]
    out["reversals"] = [_payment_summary(r) for r in reversals]
    out["buyer"] = _sale_buyer(row.sale)
    out["timeline"] = timeline.payment_timeline(ctx, payment_key, json.loads(row.event_ids))
    return out


def _sale_buyer(sale_json: str) -> dict[str, str]:
    """Name and email of the payer as Stripe gave them (prefill of the override form)."""
    try:
        objects = json.loads(sale_json).get("objects", {})
    except (ValueError, AttributeError):
        return {}
    for obj in objects.values() if isinstance(objects, dict) else []:
        if not isinstance(obj, dict):
            continue
        details = obj.get("customer_details") or obj.get("billing_details") or {}
        if isinstance(details, dict) and (details.get("name") or details.get("email")):
            return {
                "name": str(details.get("name") or ""),
                "email": str(details.get("email") or ""),
            }
    return {}


def invoice_detail(ctx: AppContext, number: str) -> dict[str, Any] | None:
    """The invoice (``invoices show``) with its payment, stornos and what can be downloaded."""
    try:
        out = anaf_admin.invoice_detail(ctx, number)
    except anaf_admin.InvoiceNotFound:
        return None
    day = today(ctx)
    with db.read(ctx.engine) as conn:
        row = rows_store.invoice_row(conn, number)
        if row is None:
            return None
        stornos = rows_store.stornos_of(conn, int(row.id))
        original = None if row.refers_to is None else rows_store.invoice_number(conn, row.refers_to)
    out["id"] = int(row.id)
    out["has_pdf"] = bool(row.has_pdf)
    out["stornos"] = [_invoice_summary(r, day) for r in stornos]
    out["original"] = original
    out["issue_date"] = row.issue_date
    out["payment_url"] = stripe_dashboard_url(str(row.payment_key), bool(row.livemode))
    return out


FILES = {
    "pdf": ("pdf", "application/pdf", "{number}.pdf"),
    "xml": ("xml", "application/xml", "{number}.xml"),
    "zip": ("signed_zip", "application/zip", "{number}-anaf.zip"),
}


def invoice_file(ctx: AppContext, number: str, kind: str) -> tuple[bytes, str, str]:
    """(bytes, media type, file name) of an invoice's PDF, XML or ANAF-signed ZIP.

    A PDF that was not rendered yet is rendered and stored first (the same bytes the payer
    gets). Raises :class:`DownloadNotFound`."""
    if kind not in FILES:
        raise DownloadNotFound(f"unknown file kind {kind!r}")
    column, media, name = FILES[kind]
    with db.read(ctx.engine) as conn:
        row = rows_store.invoice_row(conn, number)
        data = rows_store.invoice_blob(conn, number, column) if row is not None else None
    if row is None:
        raise DownloadNotFound(f"no invoice numbered {number}")
    if data is None and kind == "pdf":
        data = documents.ensure_pdf(ctx, int(row.id))
    if data is None:
        raise DownloadNotFound(f"invoice {number} has no {kind.upper()} yet")
    return data, media, name.format(number=number)


def overview(ctx: AppContext) -> dict[str, Any]:
    """Counts of today and of this month (Europe/Bucharest) and the open attention count."""
    day = today(ctx)
    start_day = datetime.combine(day, time(0), tzinfo=BUCHAREST).astimezone(UTC)
    month = day.replace(day=1)
    start_month = datetime.combine(month, time(0), tzinfo=BUCHAREST).astimezone(UTC)
    with db.read(ctx.engine) as conn:
        out = {
            "today": rows_store.counts_since(conn, db.utc_naive(start_day), day),
            "month": rows_store.counts_since(conn, db.utc_naive(start_month), month),
            "attention": rows_store.attention_count(conn),
            "overdue": [],
        }
    out["overdue"] = anaf_admin.invoices_listing(ctx, overdue=True)
    out["day"] = day
    return out


def webhook_silence(ctx: AppContext) -> timedelta | None:
    """Time since the last webhook was received (None: never)."""
    with db.read(ctx.engine) as conn:
        last = rows_store.last_webhook_at(conn)
    if last is None:
        return None
    now = ctx.clock()
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    return now - last.replace(tzinfo=UTC)


def quota_today(ctx: AppContext, day: str) -> list[tuple[str, int]]:
    """The daily ANAF quota buckets of ``day`` (``YYYY-MM-DD``) and how many calls each used."""
    with db.read(ctx.engine) as conn:
        return rows_store.quota_buckets(conn, day)
