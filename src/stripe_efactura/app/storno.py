"""Issue the storno of a refund or a lost dispute (job ``issue_storno``).

The refund's payments row (kind ``refund``/``dispute``, key ``re_…``/``dp_…``) refers to the
original payment. Its invoice is reversed by :func:`invoicing.storno.build_storno`, and the
storno passes the same gate as an invoice (render with a provisional number, XSD + CIUS-RO
schematron) before it is numbered in the storno series, in one transaction with its row and
its follow-up jobs (``issuing.store_numbered``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import Problem, RetryLater
from ..intake.plain import ref_id
from ..invoicing import build
from ..invoicing.model import Invoice
from ..invoicing.numbering import provisional_number, series_for
from ..invoicing.problems import problem
from ..invoicing.serialize import invoice_from_json
from ..invoicing.storno import build_storno
from ..money import from_minor
from ..store import db, repo
from ..store import invoices as invoice_store
from ..store.tables import invoices
from . import issuing
from .context import AppContext

log = logging.getLogger("stripe_efactura.storno")

WAIT_SECONDS = 600
"""How long a refund waits for its sale's invoice between attempts."""


def storno_left(conn: Connection, original: Any) -> Decimal:
    """What is left to reverse on an invoice row: its total plus its (negative) stornos."""
    totals = conn.execute(
        sa.select(invoices.c.total).where(
            invoices.c.kind == "storno",
            invoices.c.refers_to == original.id,
        )
    ).scalars()
    left = Decimal(original.total)
    for t in totals:
        left += Decimal(t)
    return left


def issue_storno(ctx: AppContext, payment_key: str, *, last_attempt: bool = False) -> str:
    """Job ``issue_storno``. Idempotent: returns ``issued``, ``already``, ``needs_attention``
    or ``ignored``; raises RetryLater while the original payment has no invoice yet (a refund
    can arrive before the sale's events); on the ``last_attempt`` it gives up with
    ``P-STORNO-NO-ORIGINAL``."""
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, payment_key)
        existing = invoice_store.for_payment(conn, payment_key, "storno")
        original_row = None
        for key in _original_keys(pay):
            original_row = invoice_store.for_payment(conn, key, "invoice")
            if original_row is not None:
                break
        left = storno_left(conn, original_row) if original_row is not None else None
    if pay is None or pay.kind not in ("refund", "dispute"):
        return "ignored"
    if existing is not None:
        return "already"
    if pay.status == "ignored":
        return "ignored"
    if original_row is None or left is None:
        if not last_attempt:
            raise RetryLater(
                f"{payment_key}: payment {pay.refers_to} has no invoice yet",
                delay_seconds=WAIT_SECONDS,
            )
        issuing.needs_attention(
            ctx,
            payment_key,
            (problem("P-STORNO-NO-ORIGINAL", key=payment_key, value=pay.refers_to),),
        )
        return "needs_attention"
    sale = repo.sale_from_json(pay.sale)
    original = invoice_from_json(original_row.snapshot)
    amount = from_minor(sale.amount, sale.currency)
    if sale.currency.upper() != original.currency.upper() or amount > left:
        issuing.needs_attention(ctx, payment_key, (_too_large(pay, amount, left, original),))
        return "needs_attention"
    cfg = series_for(ctx.settings.series, storno=True, livemode=sale.livemode)
    issue_date = max(build.issue_date_of(sale.paid_at), original.issue_date)
    reason = _reason(pay.kind, sale.objects.get(pay.kind))
    storno = build_storno(
        original,
        amount=amount,
        issue_date=issue_date,
        number=provisional_number(cfg),
        reason=f"{reason} {payment_key}",
    )
    storno = replace(storno, payment_key=payment_key, livemode=sale.livemode)
    problems, summary = issuing.validate_xml(ctx, issuing.render_xml(ctx, storno))
    if problems:
        issuing.needs_attention(ctx, payment_key, problems)
        return "needs_attention"
    with db.write(ctx.engine) as conn:
        if invoice_store.for_payment(conn, payment_key, "storno") is not None:
            return "already"
        # another storno of the same invoice may have been numbered meanwhile
        left_now = storno_left(conn, invoice_store.get(conn, original_row.id, for_update=True))
        number = ""
        if amount > left_now:
            problems = (_too_large(pay, amount, left_now, original),)
        else:
            _id, number = issuing.store_numbered(
                ctx,
                conn,
                cfg,
                storno,
                kind="storno",
                payment_key=payment_key,
                livemode=sale.livemode,
                validation=summary,
                refers_to=int(original_row.id),
            )
    if problems:
        issuing.needs_attention(ctx, payment_key, problems)
        return "needs_attention"
    log.info("%s %s -> storno %s of %s", pay.kind, payment_key, number, original.number)
    return "issued"


def _too_large(pay: Any, amount: Decimal, left: Decimal, original: Invoice) -> Problem:
    return problem(
        "P-STORNO-TOO-LARGE",
        key=pay.payment_key,
        value=f"{amount} {pay.currency}",
        lines_total=f"{left} {original.currency}",
        name=original.number,
    )


def _original_keys(pay: Any) -> list[str]:
    """The payment keys the original invoice may be stored under: ``refers_to`` (the
    PaymentIntent, else the Charge), then the refund's or dispute's Charge (a sale recorded
    from a Charge alone is keyed by ``ch_…``)."""
    if pay is None or not pay.refers_to:
        return []
    keys = [str(pay.refers_to)]
    obj = repo.sale_from_json(pay.sale).objects.get(str(pay.kind))
    charge = ref_id(obj.get("charge")) if isinstance(obj, dict) else None
    if charge and charge not in keys:
        keys.append(charge)
    return keys


def _reason(kind: str, obj: object) -> str:
    label = "Rambursare" if kind == "refund" else "Dispută pierdută"
    why = obj.get("reason") if isinstance(obj, dict) else None
    return f"{label} ({why})" if isinstance(why, str) and why else label
