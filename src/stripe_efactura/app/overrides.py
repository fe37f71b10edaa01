"""Buyer overrides typed by the merchant (API, console, ``payments override``) and the
payment retry of the API.

An override is checked with the rules that apply to the buyer data coming from Stripe
(``invoicing.buyer.resolve_buyer``: CUI/CNP check digits, VAT id format, county, Bucharest
sector, …); a refused override changes nothing. An accepted one is stored on the payment,
recorded in the audit log (the overrides before and after) and the payment is issued again:

- a payment without an invoice (``needs_attention``) is queued and issued at once when it can
  be (the worker's job then finds it done); it gets a number only if it passes the rules;
- an invoice ANAF rejected or that was never sent keeps its number and is rebuilt and sent
  again (``anaf_admin.retry_invoice``);
- an invoice ANAF accepted, or one still with ANAF, is never changed: the answer says to
  re-issue it (storno + new invoice, ``app/corrections.py``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TypedDict

from ..errors import RetryLater, ValidationArtifactsMissing
from ..invoicing.buyer import BuyerOverrides
from ..store import corrections as store
from ..store import db, repo
from ..store import invoices as invoice_store
from ..store.anaf_work import RETRYABLE
from . import anaf_admin, audit_log, browse, issuing, repair
from .audit_log import Actor
from .browse_views import ProblemJson
from .context import AppContext
from .corrections import check_overrides
from .refusals import Conflict

log = logging.getLogger("stripe_efactura.overrides")


def buyer_from_fields(data: Mapping[str, object]) -> BuyerOverrides:
    """The overrides typed in a form, a request body or on the command line: empty values
    are left out; ``vat_id`` (a VAT id such as ``RO14399840``) stands for ``cui`` when no
    CUI is given (``BuyerOverrides.cui`` takes either)."""
    given = {k: v for k, v in data.items() if v not in (None, "", False)}
    vat_id = given.pop("vat_id", None)
    if vat_id and not given.get("cui"):
        given["cui"] = vat_id
    return BuyerOverrides.from_json(given)


def _issue_now(ctx: AppContext, payment_key: str) -> None:
    """Issue a queued payment at once; a transient wait leaves it to the worker."""
    try:
        issuing.issue_invoice(ctx, payment_key)
    except (RetryLater, ValidationArtifactsMissing) as exc:
        log.info("payment %s left to the worker: %s", payment_key, exc.code)


class IssueOutcome(TypedDict):
    """Where a payment stands after it was issued again."""

    payment_key: str
    status: str
    invoice: str | None
    anaf_state: str | None
    problems: list[ProblemJson]


class RetryOutcome(IssueOutcome):
    message: str
    """What the retry did (``repair.retry_payment``)."""


def _outcome(ctx: AppContext, payment_key: str) -> IssueOutcome:
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, payment_key)
        inv = invoice_store.for_payment(conn, payment_key, "invoice")
    return {
        "payment_key": payment_key,
        "status": pay.status if pay is not None else "unknown",
        "invoice": inv.number if inv is not None else None,
        "anaf_state": inv.anaf_state if inv is not None else None,
        "problems": json.loads(pay.problems) if pay is not None else [],
    }


def override_buyer(
    ctx: AppContext, actor: Actor, payment_key: str, overrides: BuyerOverrides
) -> IssueOutcome:
    """Check, store and audit ``overrides`` for a payment, then issue it again."""
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, payment_key)
        inv = invoice_store.for_payment(conn, payment_key, "invoice")
    if pay is None:
        raise browse._payment_not_found(payment_key)
    if pay.kind not in ("payment", "reissue"):
        raise Conflict(
            "E-OVERRIDE-KIND",
            f"{payment_key} is a {pay.kind}: its storno takes the buyer of the original invoice.",
            f"{payment_key} este {pay.kind}: stornarea preia cumpărătorul facturii inițiale.",
        )
    if inv is not None and inv.anaf_state not in RETRYABLE:
        raise Conflict(
            "E-OVERRIDE-INVOICED",
            f"Payment {payment_key} has invoice {inv.number} ({inv.anaf_state}), which can no "
            "longer change: re-issue it to the new buyer (storno + new invoice).",
            f"Plata {payment_key} are factura {inv.number} ({inv.anaf_state}), care nu se mai "
            "poate modifica: refacturați-o noului cumpărător (stornare + factură nouă).",
        )
    check_overrides(repo.sale_from_json(pay.sale), overrides)
    before = json.loads(pay.overrides) if pay.overrides else None
    after = json.loads(overrides.to_json())
    if inv is None:
        repair.retry_payment(ctx, payment_key, overrides=overrides)
        audit_log.record_now(
            ctx, actor, "payment.override", "payment", payment_key, before=before, after=after
        )
        _issue_now(ctx, payment_key)
        return _outcome(ctx, payment_key)
    with db.write(ctx.engine) as conn:
        store.set_overrides(conn, payment_key, overrides.to_json())
        audit_log.record(
            conn, actor, "payment.override", "payment", payment_key, before=before, after=after
        )
    anaf_admin.retry_invoice(ctx, str(inv.number))
    return _outcome(ctx, payment_key)


def retry(ctx: AppContext, actor: Actor, payment_key: str) -> RetryOutcome:
    """Re-read a payment that needs attention and issue it again (``payments retry``)."""
    message = repair.retry_payment(ctx, payment_key)
    audit_log.record_now(
        ctx, actor, "payment.retry", "payment", payment_key, after={"result": message}
    )
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, payment_key)
    if pay is not None and pay.kind == "payment":
        _issue_now(ctx, payment_key)
    return {**_outcome(ctx, payment_key), "message": message}
