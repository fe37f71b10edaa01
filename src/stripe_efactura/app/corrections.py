"""Corrections on demand: a storno (full or partial, with a reason) and the re-issue of an
invoice to another buyer (a full storno plus a new invoice, the common "I need the invoice on
my company" request).

What the law does not allow is refused with a coded reason (HTTP 409/422):

- a storno of a storno (``E-STORNO-OF-STORNO``): reverse the mistake with a new invoice;
- a storno of an invoice ANAF rejected (``E-STORNO-REJECTED``): a rejected invoice counts as
  never transmitted; correct the data and send it again (``invoices retry``);
- a storno while ANAF has not answered yet (``E-STORNO-IN-FLIGHT``): wait for its answer;
- more than what is left to reverse, a non-positive amount or one with more than two
  decimals (``E-STORNO-AMOUNT``), nothing left (``E-STORNO-NOTHING-LEFT``), no reason
  (``E-STORNO-REASON``);
- a re-issue of an invoice already partly reversed (``E-REISSUE-PARTIAL``), or to a buyer
  whose data break the rules that apply to Stripe's data (``E-OVERRIDE-INVALID``, with the
  problems).

Both pass the gate of every invoice (rendered with a provisional number, XSD + CIUS-RO
schematron) before anything is numbered, and are numbered, stored and queued for the PDF, the
e-mail and ANAF (``issuing.store_numbered``) in ONE transaction with their audit entry: the
storno and the new invoice of a re-issue exist together or not at all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypedDict

from ..errors import Problem
from ..intake.draft import draft_of
from ..intake.sale import Sale
from ..invoicing import build
from ..invoicing.buyer import BuyerOverrides, resolve_buyer
from ..invoicing.model import Invoice
from ..invoicing.numbering import provisional_number, series_for
from ..invoicing.serialize import invoice_from_json
from ..invoicing.storno import build_storno
from ..store import corrections as store
from ..store import db, repo
from ..store import invoices as invoice_store
from ..store.invoices import InvoiceRecord
from ..store.repo import PaymentRecord
from . import audit_log, browse, issuing
from .audit_log import Actor
from .context import AppContext
from .refusals import Conflict, Invalid
from .storno import storno_left, storno_type_code

IN_FLIGHT = ("pending_upload", "uploaded", "in_processing", "unknown")
REJECTED = ("nok", "rejected_at_upload")
MAX_REASON = 250


class StornoOutcome(TypedDict):
    invoice: str
    storno: str
    amount: str
    """Major units, decimal text."""
    reason: str


class ReissueOutcome(TypedDict):
    invoice: str
    storno: str
    new_invoice: str
    reason: str


class ProblemsRefusal(Invalid):
    """Refused because of invoice problems (the same ``P-…``/``V-…`` as for Stripe data)."""

    def __init__(self, code: str, en: str, ro: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(code, en, ro)
        self.problems = problems


def _check_correctable(row: InvoiceRecord, left: Decimal) -> None:
    number = row.number
    if row.kind != "invoice":
        raise Conflict(
            "E-STORNO-OF-STORNO",
            f"{number} is a storno; a storno cannot be reversed: issue a new invoice instead.",
            f"{number} este o stornare; o stornare nu se stornează: emiteți o factură nouă.",
        )
    if row.anaf_state in REJECTED:
        raise Conflict(
            "E-STORNO-REJECTED",
            f"ANAF rejected invoice {number}: it counts as never transmitted. Correct the data "
            "and send it again (retry) instead of a storno.",
            f"ANAF a respins factura {number}: se consideră netransmisă. Corectați datele și "
            "retrimiteți-o în loc de stornare.",
        )
    if row.anaf_state in IN_FLIGHT:
        raise Conflict(
            "E-STORNO-IN-FLIGHT",
            f"Invoice {number} is still with ANAF ({row.anaf_state}); wait for its answer.",
            f"Factura {number} este încă la ANAF ({row.anaf_state}); așteptați răspunsul.",
        )
    if left <= 0:
        raise Conflict(
            "E-STORNO-NOTHING-LEFT",
            f"Invoice {number} is already fully reversed.",
            f"Factura {number} este deja stornată integral.",
        )


def _check_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text or len(text) > MAX_REASON:
        raise Invalid(
            "E-STORNO-REASON",
            f"Give the reason of the correction (1 to {MAX_REASON} characters).",
            f"Indicați motivul corecției (între 1 și {MAX_REASON} de caractere).",
            field="reason",
        )
    return text


def _amount(amount: Decimal | str | None, left: Decimal, currency: str) -> Decimal:
    if amount is None:
        return left
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0 or value > left or value != round(value, 2):
        raise Invalid(
            "E-STORNO-AMOUNT",
            f"The storno amount must be more than 0 and at most {left} {currency} (what is left "
            "to reverse), with at most two decimals.",
            f"Suma stornată trebuie să fie mai mare decât 0 și cel mult {left} {currency} (cât "
            "a rămas de stornat), cu cel mult două zecimale.",
            field="amount",
        )
    return value


def _load(ctx: AppContext, number: str) -> tuple[InvoiceRecord, Decimal]:
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, number)
        if row is None:
            raise browse.invoice_not_found(number)
        return row, storno_left(conn, row)


def _storno_of(
    ctx: AppContext,
    row: InvoiceRecord,
    original: Invoice,
    amount: Decimal,
    reason: str,
    on: date,
) -> tuple[Invoice, str, str]:
    """The validated (not yet numbered) storno, its payment key and validation summary."""
    cfg = series_for(ctx.settings.series, storno=True, livemode=bool(row.livemode))
    storno = build_storno(
        original,
        amount=amount,
        issue_date=max(on, original.issue_date),
        number=provisional_number(cfg),
        reason=reason,
        type_code=storno_type_code(ctx),
    )
    with db.read(ctx.engine) as conn:
        n = store.count_keys_like(conn, f"{row.payment_key}~storno-") + 1
    key = f"{row.payment_key}~storno-{n}"
    storno = replace(storno, payment_key=key, livemode=bool(row.livemode))
    problems, summary = issuing.validate_xml(ctx, issuing.render_xml(ctx, storno))
    if problems:
        raise ProblemsRefusal(
            "E-STORNO-INVALID",
            "The storno does not pass the official rules.",
            "Stornarea nu trece regulile oficiale.",
            problems,
        )
    return storno, key, summary


def storno(
    ctx: AppContext,
    actor: Actor,
    number: str,
    *,
    reason: str,
    amount: Decimal | str | None = None,
) -> StornoOutcome:
    """Reverse ``amount`` (default: all that is left) of invoice ``number``."""
    text = _check_reason(reason)
    row, left = _load(ctx, number)
    _check_correctable(row, left)
    value = _amount(amount, left, row.currency)
    original = invoice_from_json(row.snapshot)
    draft, key, summary = _storno_of(ctx, row, original, value, text, browse.today(ctx))
    cfg = series_for(ctx.settings.series, storno=True, livemode=bool(row.livemode))
    with db.write(ctx.engine) as conn:
        fresh = invoice_store.must_get(conn, int(row.id), for_update=True)
        _check_correctable(fresh, storno_left(conn, fresh))
        _amount(value, storno_left(conn, fresh), row.currency)
        _id, storno_number = issuing.store_numbered(
            ctx,
            conn,
            cfg,
            draft,
            kind="storno",
            payment_key=key,
            livemode=bool(row.livemode),
            validation=summary,
            refers_to=int(row.id),
        )
        after = {"storno": storno_number, "amount": str(value), "reason": text}
        audit_log.record(
            conn,
            actor,
            "invoice.storno",
            "invoice",
            number,
            before={"left": str(left)},
            after=after,
        )
    return {"invoice": number, "storno": storno_number, "amount": str(value), "reason": text}


def check_overrides(sale: Sale, overrides: BuyerOverrides) -> None:
    """The buyer rules that apply to Stripe's data, applied to hand-typed data (422)."""
    problems = resolve_buyer(draft_of(sale).buyer, overrides).problems
    if problems:
        raise ProblemsRefusal(
            "E-OVERRIDE-INVALID",
            "The buyer data break the invoicing rules: " + "; ".join(p.code for p in problems),
            "Datele cumpărătorului încalcă regulile de facturare: "
            + "; ".join(p.code for p in problems),
            tuple(problems),
        )


def _new_invoice(
    ctx: AppContext,
    pay: PaymentRecord,
    original: Invoice,
    overrides: BuyerOverrides,
    on: date,
    key: str,
) -> tuple[Invoice, str]:
    sale = repo.sale_from_json(pay.sale)
    check_overrides(sale, overrides)
    cfg = series_for(ctx.settings.series, storno=False, livemode=bool(pay.livemode))
    result = build.build_invoice(
        draft_of(sale),
        ctx.settings.invoicing,
        number=provisional_number(cfg),
        fx=original.fx,
        overrides=overrides,
    )
    if result.problems or result.invoice is None:
        raise ProblemsRefusal(
            "E-OVERRIDE-INVALID",
            "The new invoice cannot be built.",
            "Factura nouă nu poate fi construită.",
            tuple(result.problems),
        )
    issue_day = max(on, original.issue_date)
    note = f"Înlocuiește factura {original.number} din {original.issue_date:%d.%m.%Y}"
    due = result.invoice.due_date
    invoice = replace(
        result.invoice,
        issue_date=issue_day,
        tax_point_date=result.invoice.issue_date,
        due_date=max(due, issue_day) if due is not None else None,
        payment_key=key,
        notes=(*result.invoice.notes, note)[-20:],
    )
    problems, summary = issuing.validate_xml(ctx, issuing.render_xml(ctx, invoice))
    if problems:
        raise ProblemsRefusal(
            "E-OVERRIDE-INVALID",
            "The new invoice does not pass the official rules.",
            "Factura nouă nu trece regulile oficiale.",
            problems,
        )
    return invoice, summary


def _whole_and_sale(
    ctx: AppContext, row: InvoiceRecord, left: Decimal, number: str
) -> tuple[PaymentRecord, str]:
    """The payment behind ``row`` and the key of its next re-issue; refuses a partly
    reversed invoice."""
    if left != Decimal(row.total):
        raise Conflict(
            "E-REISSUE-PARTIAL",
            f"Invoice {number} is already partly reversed; issue the new invoice by hand.",
            f"Factura {number} este deja stornată parțial; emiteți factura nouă manual.",
        )
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, row.payment_key)
        n = store.count_keys_like(conn, f"{row.payment_key}~reissue-") + 1
    if pay is None:
        raise browse.invoice_not_found(number)
    return pay, f"{row.payment_key}~reissue-{n}"


def reissue(
    ctx: AppContext, actor: Actor, number: str, overrides: BuyerOverrides, *, reason: str
) -> ReissueOutcome:
    """Storno invoice ``number`` in full and issue a new invoice of the same sale to the buyer
    in ``overrides``; both or neither."""
    text = _check_reason(reason)
    row, left = _load(ctx, number)
    _check_correctable(row, left)
    pay, new_key = _whole_and_sale(ctx, row, left, number)
    original = invoice_from_json(row.snapshot)
    on = browse.today(ctx)
    invoice, inv_summary = _new_invoice(ctx, pay, original, overrides, on, new_key)
    draft, skey, summary = _storno_of(ctx, row, original, left, text, on)
    live = bool(row.livemode)
    with db.write(ctx.engine) as conn:
        fresh = invoice_store.must_get(conn, int(row.id), for_update=True)
        _check_correctable(fresh, storno_left(conn, fresh))
        _s, storno_number = issuing.store_numbered(
            ctx,
            conn,
            series_for(ctx.settings.series, storno=True, livemode=live),
            draft,
            kind="storno",
            payment_key=skey,
            livemode=live,
            validation=summary,
            refers_to=int(row.id),
        )
        store.clone_payment(conn, pay, new_key, kind="reissue", overrides_json=overrides.to_json())
        _i, new_number = issuing.store_numbered(
            ctx,
            conn,
            series_for(ctx.settings.series, storno=False, livemode=live),
            invoice,
            kind="invoice",
            payment_key=new_key,
            livemode=live,
            validation=inv_summary,
        )
        after = {"storno": storno_number, "invoice": new_number, "reason": text}
        after["buyer"] = overrides.to_json()
        before = {"buyer": original.buyer.name}
        audit_log.record(
            conn, actor, "invoice.reissue", "invoice", number, before=before, after=after
        )
    return {"invoice": number, "storno": storno_number, "new_invoice": new_number, "reason": text}
