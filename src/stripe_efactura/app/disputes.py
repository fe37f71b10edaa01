"""Lost disputes: a storno only when the merchant says so (``[storno] lost_disputes``).

A chargeback the merchant lost is not obviously a reduction of the taxable amount: art. 287
of the Fiscal Code reduces it for a cancelled or returned supply, a price reduction or an
uncollectable claim (after bankruptcy); a card dispute where the buyer kept the goods is none
of these for certain. So by default (``ask``) a lost dispute needs attention with
``P-DISPUTE-DECISION`` and a notice, until the merchant (with their accountant) decides with
``payments dispute dp_… --storno`` / ``--no-storno`` (:func:`decide_dispute`). ``storno``
reverses every lost dispute, ``ignore`` none. The decision is kept on the dispute's payments
row (``overrides``: ``{"dispute": "storno"}`` or ``{"dispute": "no_storno"}``).
"""

from __future__ import annotations

import json
import logging

from ..errors import EfacturaError
from ..intake import refunds
from ..intake.sale import Sale
from ..invoicing.model import Invoice
from ..invoicing.problems import problem
from ..jobs import queue
from ..money import format_amount, from_minor
from ..store import db, repo
from ..store import invoices as invoice_store
from ..store.repo import PaymentRecord
from . import audit_log, notices
from .audit_log import Actor
from .context import AppContext

log = logging.getLogger("stripe_efactura.storno")

STORNO = "storno"
NO_STORNO = "no_storno"


class DisputeDecisionError(EfacturaError):
    code = "E-DISPUTE-DECISION"


def decision_of(pay: PaymentRecord) -> str | None:
    """The merchant's decision for a lost dispute (``storno``/``no_storno``), if any."""
    try:
        data = json.loads(pay.overrides) if pay.overrides else None
    except ValueError:
        return None
    value = data.get("dispute") if isinstance(data, dict) else None
    return value if value in (STORNO, NO_STORNO) else None


def dispute_held(ctx: AppContext, pay: PaymentRecord, sale: Sale, original: Invoice) -> str | None:
    """``None`` when the lost dispute may be reversed; else the job's outcome: ``ignored``
    (the policy or the merchant said no storno) or ``needs_attention`` (asking)."""
    decision = decision_of(pay) or {"storno": STORNO, "ignore": NO_STORNO}.get(
        ctx.settings.storno.lost_disputes
    )
    if decision == STORNO:
        return None
    key = str(pay.payment_key)
    if decision == NO_STORNO:
        with db.write(ctx.engine) as conn:
            repo.set_payment_status(conn, key, "ignored")
        log.info("lost dispute %s: no storno (policy or decision)", key)
        return "ignored"
    amount = format_amount(from_minor(sale.amount, sale.currency), sale.currency)
    ask = problem(
        "P-DISPUTE-DECISION",
        key=key,
        value=f"{refunds.reversal_label('dispute', sale)}, {amount}",
        name=original.number,
    )
    with db.write(ctx.engine) as conn:
        repo.set_payment_status(conn, key, "needs_attention", (ask,))
        notices.record(
            conn,
            "payment_problem",
            key,
            f"Disputa {key} a fost pierdută: decideți dacă factura {original.number} se "
            f"stornează / Dispute {key} was lost: decide whether to reverse {original.number}",
            (ask,),
        )
    return "needs_attention"


def decide_dispute(ctx: AppContext, payment_key: str, *, storno: bool) -> str:
    """The merchant's decision on a lost dispute: ``storno`` queues its storno, otherwise it
    is closed without one. Raises DisputeDecisionError for anything but a lost dispute without
    a storno."""
    with db.write(ctx.engine) as conn:
        pay = repo.get_payment(conn, payment_key, for_update=True)
        if pay is None or pay.kind != "dispute":
            raise DisputeDecisionError(
                f"{payment_key} is not a lost dispute",
                code="E-DISPUTE-UNKNOWN",
                message_ro=f"{payment_key} nu este o dispută pierdută",
            )
        existing = invoice_store.for_payment(conn, payment_key, "storno")
        if existing is not None:
            raise DisputeDecisionError(
                f"{payment_key} already has storno {existing.number}",
                code="E-DISPUTE-DECIDED",
                message_ro=f"{payment_key} are deja stornarea {existing.number}",
            )
        decision = json.dumps({"dispute": STORNO if storno else NO_STORNO})
        repo.reset_payment(conn, payment_key, overrides=decision)
        if not storno:
            repo.set_payment_status(conn, payment_key, "ignored")
            return f"lost dispute {payment_key}: no storno (decided)"
        stamp = db.db_now(conn).strftime("%Y%m%dT%H%M%S%f")
        queue.enqueue(
            conn,
            "issue_storno",
            {"payment_key": payment_key},
            dedupe_key=f"issue_storno:{payment_key}:decided:{stamp}",
        )
    return f"lost dispute {payment_key}: storno queued"


def decide(ctx: AppContext, actor: Actor, payment_key: str, *, storno: bool) -> str:
    """:func:`decide_dispute` as a person's action (``payments dispute``, the API's
    ``POST /payments/{key}/dispute-decision``, the console's button), audited
    (``payment.dispute_decision``, after: ``{"decision": "storno"|"no_storno"}``)."""
    message = decide_dispute(ctx, payment_key, storno=storno)
    audit_log.record_now(
        ctx,
        actor,
        "payment.dispute_decision",
        "payment",
        payment_key,
        after={"decision": STORNO if storno else NO_STORNO},
    )
    return message
