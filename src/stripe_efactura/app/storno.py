"""Issue the storno of a refund or a lost dispute (job ``issue_storno``).

The refund's payments row (kind ``refund``/``dispute``, key ``re_…``/``dp_…``) refers to the
original payment. Its invoice is reversed by :func:`invoicing.storno.build_storno`, and the
storno passes the same gate as an invoice (render with a provisional number, XSD + CIUS-RO
schematron) before it is numbered in the storno series, in one transaction with its row and
its follow-up jobs (``issuing.store_numbered``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy.engine import Connection

from ..errors import Problem, RetryLater
from ..intake import refunds
from ..invoicing.model import Invoice
from ..invoicing.numbering import provisional_number, series_for
from ..invoicing.problems import problem
from ..invoicing.profile import SeriesConfig
from ..invoicing.serialize import invoice_from_json
from ..invoicing.storno import StornoItemsError, build_storno
from ..money import from_minor
from ..store import db, repo
from ..store import invoices as invoice_store
from ..store.invoices import InvoiceRecord
from ..store.repo import PaymentRecord
from . import issuing
from .context import AppContext
from .disputes import dispute_held as _dispute_held

log = logging.getLogger("stripe_efactura.storno")

WAIT_SECONDS = 600
"""How long a refund waits for its sale's invoice between attempts."""


def storno_left(conn: Connection, original: InvoiceRecord) -> Decimal:
    """What is left to reverse on an invoice row: its total plus its (negative) stornos."""
    left = Decimal(original.total)
    for total in invoice_store.storno_totals(conn, int(original.id)):
        left += Decimal(total)
    return left


@dataclass(frozen=True)
class _Found:
    """What the storno of one refund needs from the database."""

    pay: PaymentRecord | None
    existing: InvoiceRecord | None
    original_row: InvoiceRecord | None
    left: Decimal | None
    earlier: tuple[Invoice, ...] = ()
    """The stornos already issued for the original (what was returned before)."""


def _find(ctx: AppContext, payment_key: str) -> _Found:
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, payment_key)
        existing = invoice_store.for_payment(conn, payment_key, "storno")
        original_row = None
        for key in _original_keys(pay):
            original_row = invoice_store.for_payment(conn, key, "invoice")
            if original_row is not None:
                break
        left = storno_left(conn, original_row) if original_row is not None else None
        earlier = (
            tuple(
                invoice_from_json(snap)
                for snap in invoice_store.storno_snapshots(conn, int(original_row.id))
            )
            if original_row is not None
            else ()
        )
    return _Found(pay, existing, original_row, left, earlier)


def _no_original(ctx: AppContext, payment_key: str, pay: PaymentRecord, last_attempt: bool) -> str:
    """A refund whose sale has no invoice (yet): wait, or give up on the last attempt."""
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


def issue_storno(ctx: AppContext, payment_key: str, *, last_attempt: bool = False) -> str:
    """Job ``issue_storno``. Idempotent: returns ``issued``, ``already``, ``needs_attention``
    or ``ignored``; raises RetryLater while the original payment has no invoice yet (a refund
    can arrive before the sale's events); on the ``last_attempt`` it gives up with
    ``P-STORNO-NO-ORIGINAL``. A lost dispute follows ``[storno] lost_disputes`` unless the
    merchant decided for it (:func:`decide_dispute`)."""
    found = _find(ctx, payment_key)
    pay = found.pay
    if pay is None or pay.kind not in ("refund", "dispute"):
        return "ignored"
    if found.existing is not None:
        return "already"
    if pay.status == "ignored":
        return "ignored"
    if found.original_row is None or found.left is None:
        return _no_original(ctx, payment_key, pay, last_attempt)
    sale = repo.sale_from_json(pay.sale)
    original = invoice_from_json(found.original_row.snapshot)
    if pay.kind == "dispute":
        held = _dispute_held(ctx, pay, sale, original)
        if held is not None:
            return held
    amount = from_minor(sale.amount, sale.currency)
    if sale.currency.upper() != original.currency.upper() or amount > found.left:
        issuing.needs_attention(ctx, payment_key, (_too_large(pay, amount, found.left, original),))
        return "needs_attention"
    cfg = series_for(ctx.settings.series, storno=True, livemode=sale.livemode)
    try:
        storno = build_storno(
            original,
            amount=amount,
            issue_date=max(issuing.today(ctx), original.issue_date),
            number=provisional_number(cfg),
            reason=refunds.reversal_label(pay.kind, sale),
            payment_id=payment_key,
            items=refunds.returned_items(pay.kind, sale),
            type_code=storno_type_code(ctx),
            earlier=found.earlier,
        )
    except StornoItemsError as exc:
        issuing.needs_attention(ctx, payment_key, (_items_problem(pay, exc, amount, original),))
        return "needs_attention"
    except ValueError as exc:  # efactura_items that cannot be read
        bad = problem("P-STORNO-ITEMS-INVALID", key=payment_key, value=str(exc))
        issuing.needs_attention(ctx, payment_key, (bad,))
        return "needs_attention"
    storno = replace(storno, payment_key=payment_key, livemode=sale.livemode)
    problems, summary = issuing.validate_xml(ctx, issuing.render_xml(ctx, storno))
    if problems:
        issuing.needs_attention(ctx, payment_key, problems)
        return "needs_attention"
    return _store(ctx, pay, cfg, storno, original, found.original_row, amount, summary)


def storno_type_code(ctx: AppContext) -> str:
    """380 (storno invoice) or, with ``[storno] credit_note_381``, 381 (credit note)."""
    return "381" if ctx.settings.storno.credit_note_381 else "380"


def _items_problem(
    pay: PaymentRecord, exc: StornoItemsError, amount: Decimal, original: Invoice
) -> Problem:
    return problem(
        exc.code,
        key=pay.payment_key,
        value=exc.value,
        lines_total=f"{amount} {original.currency}",
        name=original.number,
    )


def _store(
    ctx: AppContext,
    pay: PaymentRecord,
    cfg: SeriesConfig,
    storno: Invoice,
    original: Invoice,
    original_row: InvoiceRecord,
    amount: Decimal,
    summary: str,
) -> str:
    """Number and store a validated storno, unless another storno used up the invoice."""
    payment_key = str(pay.payment_key)
    with db.write(ctx.engine) as conn:
        if invoice_store.for_payment(conn, payment_key, "storno") is not None:
            return "already"
        # another storno of the same invoice may have been numbered meanwhile
        left_now = storno_left(conn, invoice_store.must_get(conn, original_row.id, for_update=True))
        too_large: tuple[Problem, ...] = ()
        number = ""
        if amount > left_now:
            too_large = (_too_large(pay, amount, left_now, original),)
        else:
            _id, number = issuing.store_numbered(
                ctx,
                conn,
                cfg,
                storno,
                kind="storno",
                payment_key=payment_key,
                livemode=storno.livemode,
                validation=summary,
                refers_to=int(original_row.id),
            )
    if too_large:
        issuing.needs_attention(ctx, payment_key, too_large)
        return "needs_attention"
    log.info("%s %s -> storno %s of %s", pay.kind, payment_key, number, original.number)
    return "issued"


def _too_large(pay: PaymentRecord, amount: Decimal, left: Decimal, original: Invoice) -> Problem:
    return problem(
        "P-STORNO-TOO-LARGE",
        key=pay.payment_key,
        value=f"{amount} {pay.currency}",
        lines_total=f"{left} {original.currency}",
        name=original.number,
    )


def _original_keys(pay: PaymentRecord | None) -> list[str]:
    """The payment keys the original invoice may be stored under: ``refers_to`` (the
    PaymentIntent, else the Charge), then the refund's or dispute's Charge (a sale recorded
    from a Charge alone is keyed by ``ch_…``)."""
    if pay is None or not pay.refers_to:
        return []
    keys = [str(pay.refers_to)]
    charge = refunds.reversal_charge(str(pay.kind), repo.sale_from_json(pay.sale))
    if charge and charge not in keys:
        keys.append(charge)
    return keys
